// The metrics issue 16 asks for, read from a real gateway's /metrics: requests by deployment, the
// OpenTelemetry GenAI histograms, queue capacity, store health and the ledger's backlog, and label
// sets that stay bounded whatever a client sends.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createMetrics } from '../src/observability/metrics.js';
import { http, simModel, startTestGateway, type TestGateway } from './helpers/gateway.js';

let gw: TestGateway;
const metrics = async () => (await fetch(`${gw.url}/metrics`)).text();
/** The value of the one series matching `re` (its first group), or undefined. */
const value = (text: string, re: RegExp) => {
  const m = re.exec(text);
  return m ? Number(m[1]) : undefined;
};

before(async () => {
  gw = await startTestGateway({
    models: [
      simModel('m', {}, { itlMs: 2 }),
      simModel('whole', {}, { ttftMs: 40, itlMs: 2 }),
      { id: 'queued', deployments: [{ id: 'queued-sim', engine: 'sim', sim: { ttftMs: 1, itlMs: 1 }, admission: { maxConcurrency: 4, maxQueue: 40 } }] },
    ],
  });
});
after(() => gw.close());

test('a stream is counted by deployment and in the GenAI histograms', async () => {
  const stream = await gw.client().chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }], max_tokens: 6, stream: true, stream_options: { include_usage: true } });
  let out = 0;
  for await (const c of stream) if (c.usage) out = c.usage.completion_tokens;
  assert.equal(out, 6);
  const text = await metrics();
  const op = 'gen_ai_operation_name="chat",gen_ai_request_model="m"';
  assert.match(text, /^sluice_requests_total\{endpoint="chat",model="m",deployment="m-sim",status="200",code=""\} 1$/m);
  assert.equal(value(text, new RegExp(`^gen_ai_server_time_to_first_token_seconds_count\\{${op}\\} (\\d+)$`, 'm')), 1);
  assert.equal(value(text, new RegExp(`^gen_ai_server_time_per_output_token_seconds_count\\{${op}\\} (\\d+)$`, 'm')), 1);
  // Six tokens 2 ms apart: about 2 ms each after the first, far from 0 and from a second.
  const tpot = value(text, new RegExp(`^gen_ai_server_time_per_output_token_seconds_sum\\{${op}\\} ([\\d.e-]+)$`, 'm'))!;
  assert.ok(tpot > 0.0005 && tpot < 0.5, `time per output token ${tpot}`);
  assert.equal(value(text, new RegExp(`^gen_ai_client_token_usage_sum\\{${op},gen_ai_token_type="output"\\} (\\d+)$`, 'm')), 6);
  assert.ok(value(text, new RegExp(`^gen_ai_client_token_usage_sum\\{${op},gen_ai_token_type="input"\\} (\\d+)$`, 'm'))! > 0);
  assert.equal(value(text, new RegExp(`^gen_ai_server_request_duration_seconds_count\\{${op},error_type=""\\} (\\d+)$`, 'm')), 1);
});

test('a non-streamed answer has its time to first token too: when the engine produced it, not when the answer left', async () => {
  const r = await gw.client().chat.completions.create({ model: 'whole', messages: [{ role: 'user', content: 'hi' }], max_tokens: 30 });
  assert.equal(r.usage?.completion_tokens, 30);
  const text = await metrics();
  const op = 'gen_ai_operation_name="chat",gen_ai_request_model="whole"';
  assert.equal(value(text, new RegExp(`^gen_ai_server_time_to_first_token_seconds_count\\{${op}\\} (\\d+)$`, 'm')), 1);
  const ttft = value(text, new RegExp(`^gen_ai_server_time_to_first_token_seconds_sum\\{${op}\\} ([\\d.e-]+)$`, 'm'))!;
  const total = value(text, new RegExp(`^gen_ai_server_request_duration_seconds_sum\\{${op},error_type=""\\} ([\\d.e-]+)$`, 'm'))!;
  // The engine's 40 ms before its first token, then 29 more tokens 2 ms apart: the first token
  // comes well before the whole answer.
  assert.ok(ttft >= 0.035 && ttft < total - 0.03, `ttft ${ttft} s, duration ${total} s`);
  assert.equal(value(text, new RegExp(`^gen_ai_server_time_per_output_token_seconds_count\\{${op}\\} (\\d+)$`, 'm')), 1);
});

test('a failed request carries its error code as error_type and its deployment', async () => {
  const res = await http(`${gw.baseURL}/chat/completions`, { method: 'POST', key: gw.key, headers: { 'x-sluice-fault': 'status-418' }, body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'x' }] }) });
  assert.ok(res.status >= 500, `status ${res.status}`);
  const text = await metrics();
  const code = res.body.error.code as string;
  assert.match(text, new RegExp(`^sluice_requests_total\\{endpoint="chat",model="m",deployment="m-sim",status="${res.status}",code="${code}"\\} 1$`, 'm'));
  assert.match(text, new RegExp(`^gen_ai_server_request_duration_seconds_count\\{gen_ai_operation_name="chat",gen_ai_request_model="m",error_type="${code}"\\} 1$`, 'm'));
});

test('labels never hold a client-sent model name or a key', async () => {
  const bogus = 'client-made-up-model-4f2a';
  await http(`${gw.baseURL}/chat/completions`, { method: 'POST', key: gw.key, body: JSON.stringify({ model: bogus, messages: [{ role: 'user', content: 'x' }] }) });
  await http(`${gw.baseURL}/chat/completions`, { method: 'POST', key: 'sk-sluice-nobody_secret-4f2a', body: JSON.stringify({ model: bogus, messages: [{ role: 'user', content: 'x' }] }) });
  const text = await metrics();
  assert.doesNotMatch(text, /4f2a/);
  assert.ok(!text.includes(gw.key));
  assert.match(text, /^sluice_requests_total\{endpoint="chat",model="",deployment="",status="404",code="model_not_found"\} 1$/m);
});

test('queue capacity, store health and the ledger backlog are exported', async () => {
  await gw.settled();
  const text = await metrics();
  assert.equal(value(text, /^sluice_admission_queue_capacity\{deployment="queued-sim"\} (\d+)$/m), 40);
  assert.equal(value(text, /^sluice_store_up (\d+)$/m), 1);
  assert.equal(value(text, /^sluice_ledger_backlog_rows (\d+)$/m), 0);
  assert.equal(value(text, /^sluice_ledger_backlog_age_seconds (\d+)$/m), 0);
});

test('a store that stops answering shows as down, counts its errors, and the ledger backlog grows', async () => {
  await gw.store.close();
  assert.equal((await http(`${gw.url}/ready`)).status, 503);
  // The key is cached and its credit lease held in memory: the request is served, and its ledger
  // row waits in the journal because the store refuses the batch.
  const served = await gw.client().chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 });
  assert.equal(served.usage?.completion_tokens, 2);
  await new Promise((r) => setTimeout(r, 300));
  const text = await metrics();
  assert.equal(value(text, /^sluice_store_up (\d+)$/m), 0);
  assert.equal(value(text, /^sluice_store_errors_total\{op="ready"\} (\d+)$/m), 1);
  assert.ok(value(text, /^sluice_store_errors_total\{op="ledger"\} (\d+)$/m)! >= 1);
  assert.equal(value(text, /^sluice_ledger_backlog_rows (\d+)$/m), 1);
  const age = value(text, /^sluice_ledger_backlog_age_seconds ([\d.e-]+)$/m)!;
  assert.ok(age >= 0.25 && age < 10, `backlog age ${age}`);
});

test('an engine usage object missing counts is skipped, never thrown on the request path', async () => {
  const m = createMetrics({ defaultMetrics: false });
  const broken = { prompt_tokens: undefined, completion_tokens: Number.NaN } as unknown as { prompt_tokens: number; completion_tokens: number };
  assert.doesNotThrow(() => m.observeInference('chat', 'x', '', 0.5, 0.1, broken));
  const text = await m.registry.metrics();
  assert.match(text, /^gen_ai_server_request_duration_seconds_count\{gen_ai_operation_name="chat",gen_ai_request_model="x",error_type=""\} 1$/m);
  assert.doesNotMatch(text, /^gen_ai_client_token_usage_count/m);
  assert.doesNotMatch(text, /^gen_ai_server_time_per_output_token_seconds_count/m);
});
