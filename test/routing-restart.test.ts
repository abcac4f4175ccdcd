// An engine killed outright (SIGKILL) under load and started again on the same port: the gateway
// takes it out (its requests before their first byte are retried on the other deployment, its
// active health checks fail) and puts it back once it answers, without a restart of the gateway.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { killSim, spawnSim, type ProcessSim } from './helpers/process-sim.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';

const SIM_ARGS = ['--ttft-ms', '5', '--itl-ms', '5'];
let a: ProcessSim;
let b: ProcessSim;
let gw: TestGateway;

before(async () => {
  [a, b] = await Promise.all([spawnSim(SIM_ARGS), spawnSim(SIM_ARGS)]);
  const healthCheck = { path: '/health', intervalMs: 100, timeoutMs: 300, unhealthyAfter: 2, healthyAfter: 2 };
  gw = await startTestGateway({
    models: [{
      id: 'pair',
      timeouts: { firstTokenMs: 2_000, idleMs: 2_000, totalMs: 10_000 },
      deployments: [
        { id: 'a', engine: 'openai', baseUrl: a.url, healthCheck },
        { id: 'b', engine: 'openai', baseUrl: b.url, healthCheck },
      ],
    }],
  });
});
after(async () => {
  await gw?.close();
  for (const s of [a, b]) if (s && s.child.exitCode === null && s.child.signalCode === null) await killSim(s);
});

async function gauge(name: string, deployment: string): Promise<number> {
  const text = await (await fetch(`${gw.url}/metrics`)).text();
  return Number(new RegExp(`^${name}\\{model="pair",deployment="${deployment}"\\} (\\d+)`, 'm').exec(text)?.[1] ?? NaN);
}

async function until(what: string, check: () => Promise<boolean>, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

interface Served {
  phase: string;
  stream: boolean;
  status: number;
  deployment: string | null;
  streamError: boolean;
}

test('an engine killed under load is taken out and put back when it returns, the clients seeing only what was mid-stream', async () => {
  let phase = 'both up';
  let running = true;
  const served: Served[] = [];
  // Four clients in a loop, alternating streamed and not, 20-token answers (~100 ms each).
  const clients = [0, 1, 2, 3].map(async (c) => {
    for (let i = 0; running; i++) {
      const stream = (c + i) % 2 === 0;
      const at = phase;
      const res = await fetch(`${gw.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${gw.key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'pair', messages: [{ role: 'user', content: `client ${c} request ${i}` }], max_tokens: 20, stream }),
      });
      const text = await res.text();
      served.push({ phase: at, stream, status: res.status, deployment: res.headers.get('x-sluice-deployment'), streamError: stream && /"error"/.test(text) });
    }
  });

  await until('traffic on both', async () => served.some((s) => s.deployment === 'a') && served.some((s) => s.deployment === 'b'));
  phase = 'a killed';
  const port = a.port;
  await killSim(a);
  await until('a taken out by its health checks', async () => (await gauge('sluice_deployment_healthy', 'a')) === 0);
  const outAt = served.length;
  await sleep(300);
  phase = 'a restarted';
  a = await spawnSim(SIM_ARGS, port);
  await until('a back in by its health checks', async () => (await gauge('sluice_deployment_healthy', 'a')) === 1);
  await until('traffic on a again', async () => served.slice(outAt).some((s) => s.phase === 'a restarted' && s.deployment === 'a'));
  running = false;
  await Promise.all(clients);

  const failed = served.filter((s) => s.status !== 200);
  assert.deepEqual(failed, [], 'requests that had not begun answering were retried on the other engine');
  const cut = served.filter((s) => s.streamError);
  // Only streams already flowing from a when it died can end in an error event: at most one per client.
  assert.ok(cut.length <= 4, `streams cut: ${JSON.stringify(cut)}`);
  assert.ok(cut.every((s) => s.deployment === 'a'), JSON.stringify(cut));
  const whileOut = served.slice(outAt).filter((s) => s.phase === 'a killed');
  assert.ok(whileOut.length > 0 && whileOut.every((s) => s.deployment === 'b'), 'while a was out, b served everything');
  assert.equal(await gauge('sluice_deployment_outstanding_requests', 'a'), 0);
  assert.equal(await gauge('sluice_deployment_outstanding_requests', 'b'), 0);
});
