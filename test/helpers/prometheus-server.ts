// A real Prometheus server (the Debian package's /usr/bin/prometheus) for one test: on a free
// loopback port, a temporary data directory, scraping the given targets every second and evaluating
// the given rule file every second.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface PrometheusServer {
  url: string;
  /** Alerts as /api/v1/alerts lists them (pending and firing). */
  alerts(): Promise<Array<{ labels: Record<string, string>; state: string }>>;
  /** What the server printed, for failure messages. */
  output(): string;
  stop(): Promise<void>;
}

/** A port free now on 127.0.0.1 (Prometheus cannot take port 0 and report it). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export async function startPrometheus(opts: { targets: string[]; rules: string; binary?: string }): Promise<PrometheusServer> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-prom-'));
  writeFileSync(join(dir, 'alerts.yml'), opts.rules);
  writeFileSync(join(dir, 'prometheus.yml'), [
    'global: { scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s }',
    'rule_files: [alerts.yml]',
    'scrape_configs:',
    `  - job_name: sluice`,
    `    static_configs: [{ targets: ${JSON.stringify(opts.targets)} }]`,
    '',
  ].join('\n'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let out = '';
  const child: ChildProcess = spawn(opts.binary ?? 'prometheus', [
    `--config.file=${join(dir, 'prometheus.yml')}`,
    `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    await Promise.race([exited, sleep(5_000).then(() => child.kill('SIGKILL'))]);
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`prometheus exited:\n${out}`);
    const ready = await fetch(`${url}/-/ready`).then((r) => r.ok, () => false);
    if (ready) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`prometheus not ready within 20 s:\n${out}`);
    }
    await sleep(200);
  }
  return {
    url,
    async alerts() {
      const body = (await (await fetch(`${url}/api/v1/alerts`)).json()) as { data: { alerts: Array<{ labels: Record<string, string>; state: string }> } };
      return body.data.alerts;
    },
    output: () => out,
    stop,
  };
}

/**
 * The shipped rules made fast enough for a test, by the one transformation alerts.yml documents:
 * every range window becomes [10s] and every `for:` 2s. Nothing else (thresholds, expressions,
 * labels) changes.
 */
export function fastRules(rules: string): string {
  return rules.replace(/\[\d+[smhd]\]/g, '[10s]').replace(/^(\s+for:) .+$/gm, '$1 2s');
}
