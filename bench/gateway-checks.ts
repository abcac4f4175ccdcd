// Checks that the gateway really ran with its realistic config: auth rejects a wrong key, and
// the metrics and the ledger account for every request the benchmark saw succeed. A gateway that
// skipped that work would post better numbers than it deserves.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { request } from 'undici';
import { CHAT_PATH, JSON_BODY } from './requests.js';

export async function checkAuthIsOn(origin: string): Promise<void> {
  const res = await request(`${origin}${CHAT_PATH}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer bench-not-a-key-0000000000000000' },
    body: JSON_BODY,
  });
  await res.body.dump();
  if (res.statusCode !== 401) throw new Error(`the gateway answered ${res.statusCode} to a wrong API key, not 401: auth is off`);
}

/** The rate-limited key's answers carry OpenAI's rate-limit headers: its limits are really checked. */
export async function checkLimitsAreOn(origin: string, headers: Record<string, string>): Promise<void> {
  const res = await request(`${origin}${CHAT_PATH}`, { method: 'POST', headers, body: JSON_BODY });
  await res.body.dump();
  const limit = res.headers['x-ratelimit-limit-tokens'];
  if (res.statusCode !== 200 || limit === undefined) throw new Error(`the rate-limited key's answer (${res.statusCode}) has no x-ratelimit-limit-tokens: its limits are off`);
}

/** Successful chat requests in the gateway's Prometheus counter. */
export async function metricsCount(origin: string): Promise<number> {
  const res = await request(`${origin}/metrics`);
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`GET /metrics answered ${res.statusCode}`);
  let n = 0;
  for (const m of text.matchAll(/^sluice_requests_total\{([^}]*)\} (\d+)/gm)) {
    if ((m[1]!.includes('endpoint="chat"') || m[1]!.includes('endpoint="responses"')) && m[1]!.includes('status="200"')) n += Number(m[2]);
  }
  return n;
}

/** Ledger rows, read with the gateway's own CLI once the gateway has stopped (and flushed). */
export async function ledgerCount(sluiceJs: string, configPath: string): Promise<number> {
  const { stdout } = await promisify(execFile)(process.execPath, [sluiceJs, 'usage', '--config', configPath, '--json'], { timeout: 20_000 });
  const report = JSON.parse(stdout) as { totals?: { requests?: number } };
  if (typeof report.totals?.requests !== 'number') throw new Error(`sluice usage printed no totals: ${stdout.slice(0, 200)}`);
  return report.totals.requests;
}
