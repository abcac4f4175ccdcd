// The engine's own published load gates admission (engineMetrics): the Prometheus text reader, and
// over real HTTP a gateway whose `openai` deployment polls a standalone simulator's /metrics. Load
// put on the engine by someone else (another replica, here direct requests) holds this gateway's
// requests in its own queue until the engine's queue drains; an engine whose metrics cannot be
// read gates nothing.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { readSamples } from '../src/admission/prometheus-text.js';
import { parseEngineLoad } from '../src/admission/engine-load.js';
import { ConfigError, parseConfigDocument } from '../src/config/load.js';
import { startSimServer, type SimServer } from '../src/sim/sim-server.js';
import { http, startTestGateway, type TestGateway } from './helpers/gateway.js';

test('readSamples reads values past labels holding spaces, braces and escaped quotes, and skips the rest', () => {
  const text = [
    '# HELP vllm:num_requests_waiting Number of requests waiting.',
    '# TYPE vllm:num_requests_waiting gauge',
    'vllm:num_requests_waiting{model_name="a } b",engine="0"} 3',
    'vllm:num_requests_waiting{model_name="say \\"hi\\" }"} 4 1700000000000',
    'vllm:num_requests_waiting_total 99',
    'vllm:num_requests_waiting 5',
    'vllm:num_requests_waiting{model_name="nan"} NaN',
    'vllm:num_requests_waiting{broken="unterminated 7',
    'other_metric 1',
  ].join('\n');
  assert.deepEqual(readSamples(text, ['vllm:num_requests_waiting']).get('vllm:num_requests_waiting'), [3, 4, 5]);
  assert.equal(readSamples(text, ['absent']).size, 0);
});

test('an engine reading sums requests over models, prefers the newer cache gauge, and needs both queue gauges', () => {
  const text = [
    'vllm:num_requests_running{model_name="a"} 2',
    'vllm:num_requests_running{model_name="b"} 3',
    'vllm:num_requests_waiting{model_name="a"} 1',
    'vllm:num_requests_waiting{model_name="b"} 6',
    'vllm:gpu_cache_usage_perc{model_name="a"} 0.9',
    'vllm:kv_cache_usage_perc{model_name="a"} 0.4',
  ].join('\n');
  assert.deepEqual(parseEngineLoad(text, 42), { running: 5, waiting: 7, kvCacheUsage: 0.4, at: 42 });
  assert.equal(parseEngineLoad('vllm:num_requests_running 1\n', 0), undefined);
  assert.equal(parseEngineLoad('vllm:num_requests_running 1\nvllm:num_requests_waiting 0\n', 0)?.kvCacheUsage, undefined);
});

test('engineMetrics settings are refused at start with the field path', () => {
  const doc = (engineMetrics: unknown) => ({ models: [{ id: 'm', deployments: [{ id: 'd', engine: 'openai', baseUrl: 'http://127.0.0.1:1/v1', engineMetrics }] }] });
  for (const [bad, field] of [[{ path: 'metrics' }, 'engineMetrics.path'], [{ intervalMs: 0 }, 'engineMetrics.intervalMs'], [{ maxWaiting: -1 }, 'engineMetrics.maxWaiting'], [{ every: 5 }, 'engineMetrics']] as const) {
    assert.throws(() => parseConfigDocument(doc(bad), 'test'), (err: unknown) => err instanceof ConfigError && err.message.includes(field), JSON.stringify(bad));
  }
  const ok = parseConfigDocument(doc({}), 'test').models[0]!.deployments[0]!;
  assert.deepEqual(ok.engine === 'openai' && ok.engineMetrics, { path: '/metrics', intervalMs: 250, maxWaiting: 8 });
});

let sim: SimServer;
let gw: TestGateway;
before(async () => {
  // One sequence at a time, each ~1 s long: a second request waits in the engine's own queue.
  sim = await startSimServer({ port: 0, settings: { maxNumSeqs: 1, ttftMs: 1, itlMs: 25, load: { kneeSeqs: 64, stepGrowth: 0 } } });
  const upstream = { engine: 'openai', baseUrl: sim.url };
  gw = await startTestGateway({
    models: [
      // Admission's own limit never binds here: only the engine's published queue can hold requests.
      { id: 'gated', deployments: [{ id: 'gated-d', ...upstream, admission: { maxConcurrency: 8 }, engineMetrics: { intervalMs: 50, maxWaiting: 0 } }] },
      { id: 'blind', deployments: [{ id: 'blind-d', ...upstream, engineMetrics: { path: '/no-metrics-here', intervalMs: 50 } }] },
    ],
  });
});
after(async () => {
  await gw?.close();
  await sim?.close();
});

const chat = (model: string, maxTokens: number) => JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }], max_tokens: maxTokens });
const simChatHits = () => sim.hits.get('/v1/chat/completions') ?? 0;

async function metric(pattern: RegExp): Promise<number | undefined> {
  const text = await (await fetch(`${gw.url}/metrics`)).text();
  const m = pattern.exec(text);
  return m ? Number(m[1]) : undefined;
}

async function until(what: string, check: () => Promise<boolean>, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

test("an engine whose own queue is past maxWaiting gets nothing more until it drains; the gateway's request waits in admission", async () => {
  // Another replica's traffic: one request running on the engine, one in its queue.
  const other = new AbortController();
  const direct = [0, 1].map(() => fetch(`${sim.url}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: chat('x', 400), signal: other.signal }).then((r) => r.text()).catch(() => 'aborted'));
  await until('the gateway to see the engine saturated', async () => (await metric(/^sluice_engine_saturated\{deployment="gated-d"\} (\d+)/m)) === 1);
  assert.equal(await metric(/^sluice_engine_requests_waiting\{deployment="gated-d"\} (\d+)/m), 1);
  assert.equal(await metric(/^sluice_engine_requests_running\{deployment="gated-d"\} (\d+)/m), 1);

  const hitsBefore = simChatHits();
  const started = performance.now();
  const mine = http(`${gw.url}/v1/chat/completions`, { method: 'POST', key: gw.key, body: chat('gated', 3) });
  await until('the request to wait in admission', async () => (await metric(/^sluice_admission_queue_length\{deployment="gated-d",priority="standard"\} (\d+)/m)) === 1);
  // Several polls later, still held: the engine was never sent it.
  await sleep(300);
  assert.equal(simChatHits(), hitsBefore, 'the saturated engine received the request');
  assert.equal(await metric(/^sluice_admission_in_service\{deployment="gated-d"\} (\d+)/m), 0);

  other.abort(); // the other replica's load goes away: the engine's queue drains
  const res = await mine;
  assert.equal(res.status, 200, res.text);
  assert.ok(performance.now() - started >= 300);
  assert.equal(simChatHits(), hitsBefore + 1);
  await Promise.all(direct);
  await until('the gate to open again', async () => (await metric(/^sluice_engine_saturated\{deployment="gated-d"\} (\d+)/m)) === 0);
  assert.equal(await metric(/^sluice_admission_queue_length\{deployment="gated-d",priority="standard"\} (\d+)/m), 0);
});

test('an engine whose metrics cannot be read gates nothing, and the failed polls are counted', async () => {
  await until('a failed poll', async () => ((await metric(/^sluice_engine_metrics_errors_total\{deployment="blind-d"\} (\d+)/m)) ?? 0) >= 1);
  const res = await http(`${gw.url}/v1/chat/completions`, { method: 'POST', key: gw.key, body: chat('blind', 3) });
  assert.equal(res.status, 200, res.text);
  assert.equal(await metric(/^sluice_engine_saturated\{deployment="blind-d"\} (\d+)/m), 0);
  // No reading, no made-up gauge value.
  assert.equal(await metric(/^sluice_engine_requests_waiting\{deployment="blind-d"\} (\d+)/m), undefined);
});
