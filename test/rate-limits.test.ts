// Rate limits on the request path, in memory (the embedded default), through the official openai
// client: codes, OpenAI's x-ratelimit-* headers on JSON, streams and errors, the SDK waiting the
// advised time, token reservations that a burst cannot blow through and that settle to what was
// served, and a refusal that costs nothing.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import OpenAI from 'openai';
import { http, simModel, startTestGateway, type TestGateway } from './helpers/gateway.js';

const KEYS = {
  rpm: 'sk-test-limits-rpm-000000001',
  burn: 'sk-test-limits-burn-00000001',
  small: 'sk-test-limits-small-0000001',
  tpm: 'sk-test-limits-tpm-000000001',
  fail: 'sk-test-limits-fail-00000001',
  modelA: 'sk-test-limits-model-a-00001',
  modelB: 'sk-test-limits-model-b-00001',
  shared1: 'sk-test-limits-shared-1-0001',
  shared2: 'sk-test-limits-shared-2-0001',
  credits: 'sk-test-limits-credits-00001',
  bound: 'sk-test-limits-bound-0000001',
  cut: 'sk-test-limits-cut-000000001',
};

let gw: TestGateway;
before(async () => {
  gw = await startTestGateway({
    accounts: [
      { id: 'lim', keys: [
        { key: KEYS.rpm, limits: { rpm: 3 } },
        { key: KEYS.burn, limits: { rpm: 20 } },
        { key: KEYS.small, limits: { tpm: 100 } },
        { key: KEYS.tpm, limits: { tpm: 1000 } },
        { key: KEYS.fail, limits: { tpm: 1100 } },
        { key: KEYS.bound, limits: { tpm: 1000 } },
        { key: KEYS.cut, limits: { tpm: 10000 } },
        { key: KEYS.modelA },
        { key: KEYS.modelB },
      ] },
      { id: 'lim-shared', limits: { rpm: 3 }, keys: [{ key: KEYS.shared1 }, { key: KEYS.shared2 }] },
      { id: 'lim-credits', credits: 5, keys: [{ key: KEYS.credits, limits: { rpm: 1 } }] },
    ],
    models: [
      simModel('test-chat', { contextLength: 4096, pricing: { inputPerMTok: 1, outputPerMTok: 1 } }),
      simModel('per-key', { limits: { rpm: 2 } }),
      simModel('down', { maintenance: true }),
      // Slow enough that none of a burst finishes (and gives tokens back) before all are decided.
      simModel('slow-chat', { contextLength: 4096 }, { ttftMs: 300 }),
    ],
  });
});
after(() => gw.close());

const chat = (extra: Record<string, unknown> = {}) => JSON.stringify({ model: 'test-chat', messages: [{ role: 'user', content: 'hi' }], max_tokens: 5, ...extra });
const post = (key: string, body = chat(), headers: Record<string, string> = {}) => http(`${gw.url}/v1/chat/completions`, { method: 'POST', key, body, headers });

/** An openai client that records the status of every attempt it makes. */
function recordingClient(apiKey: string, maxRetries: number): { client: OpenAI; statuses: number[]; waits: number[] } {
  const statuses: number[] = [];
  const waits: number[] = [];
  const client = new OpenAI({
    baseURL: gw.baseURL,
    apiKey,
    maxRetries,
    fetch: async (url, init) => {
      const res = await fetch(url, init);
      statuses.push(res.status);
      if (res.headers.has('retry-after-ms')) waits.push(Number(res.headers.get('retry-after-ms')));
      return res;
    },
  });
  return { client, statuses, waits };
}

test('rpm: the whole allowance at once, then 429 rate_limit_requests with the real wait and OpenAI headers', async () => {
  for (let i = 0; i < 3; i++) {
    const ok = await post(KEYS.rpm);
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.get('x-ratelimit-limit-requests'), '3');
    assert.equal(ok.headers.get('x-ratelimit-remaining-requests'), String(2 - i));
    assert.equal(ok.headers.get('x-ratelimit-limit-tokens'), null, 'no token limit, no token headers');
  }
  const { client } = recordingClient(KEYS.rpm, 0);
  const err = await client.chat.completions.create({ model: 'test-chat', messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
  assert.ok(err instanceof OpenAI.RateLimitError, String(err));
  assert.equal(err.code, 'rate_limit_requests');
  assert.equal(err.type, 'rate_limit_error');
  const wait = Number(err.headers.get('retry-after-ms'));
  // 3 a minute: one back every 20 s, the first of them 20 s after the burst (less the time since).
  assert.ok(wait > 15_000 && wait <= 20_000, `retry-after-ms ${wait}`);
  assert.equal(err.headers.get('retry-after'), String(Math.ceil(wait / 1000)));
  assert.equal(err.headers.get('x-should-retry'), 'true');
  assert.equal(err.headers.get('x-ratelimit-remaining-requests'), '0');
  assert.match(err.headers.get('x-ratelimit-reset-requests') ?? '', /^(59|60)(\.\d+)?s$|^1m0s$/);
});

test('the SDK waits the advised time and then succeeds', async () => {
  // 20 a minute: one back every 3 s. Spend the burst on requests refused after the limit (a
  // model in maintenance, 503), which still count as requests.
  for (let i = 0; i < 2; i++) {
    const statuses = await Promise.all(Array.from({ length: 10 }, () => post(KEYS.burn, chat({ model: 'down' }))));
    assert.ok(statuses.every((r) => r.status === 503 && r.headers.get('x-ratelimit-limit-requests') === '20'), 'errors carry the headers too');
  }
  // The burst took a while: what refilled meanwhile goes too, until the limit refuses.
  let refusals = 0;
  for (let i = 0; i < 20 && refusals === 0; i++) if ((await post(KEYS.burn, chat({ model: 'down' }))).status === 429) refusals++;
  assert.equal(refusals, 1, 'the limit refuses once the burst is spent');
  const { client, statuses, waits } = recordingClient(KEYS.burn, 2);
  const started = performance.now();
  const answer = await client.chat.completions.create({ model: 'test-chat', messages: [{ role: 'user', content: 'hi' }], max_tokens: 3 });
  const waited = performance.now() - started;
  assert.equal(answer.object, 'chat.completion');
  assert.deepEqual(statuses, [429, 200], 'refused once, then served');
  assert.equal(waits.length, 1);
  assert.ok(waits[0]! > 0 && waits[0]! <= 3000, `advised ${waits[0]} ms: at most one interval`);
  assert.ok(waited >= waits[0]!, `the SDK waited ${waited.toFixed(0)} ms, advised ${waits[0]}`);
});

test('a request larger than the token limit is 429 request_too_large_for_limit, tried once', async () => {
  const { client, statuses } = recordingClient(KEYS.small, 3);
  const err = await client.chat.completions.create({ model: 'test-chat', messages: [{ role: 'user', content: 'hi' }], max_tokens: 500 }).catch((e: unknown) => e);
  assert.ok(err instanceof OpenAI.RateLimitError, String(err));
  assert.equal(err.code, 'request_too_large_for_limit');
  assert.equal(err.param, 'max_tokens');
  assert.equal(err.headers.get('x-should-retry'), 'false');
  assert.deepEqual(statuses, [429], 'the SDK obeys x-should-retry: false');
  // Omitting max_tokens reserves the rest of the context (4096 here): it cannot dodge the limit.
  const omitted = await post(KEYS.small, chat({ max_tokens: undefined }));
  assert.equal(omitted.body.error.code, 'request_too_large_for_limit');
  assert.equal(omitted.body.error.param, null);
  assert.equal((await post(KEYS.small, chat({ max_tokens: 20 }))).status, 200, 'the limit itself still serves');
});

test('tokens are reserved before the engine: a concurrent burst cannot blow through tpm, and reservations settle to usage', async () => {
  // Each request reserves its prompt (about 10 tokens) plus max_tokens 200: four fit in 1000.
  const burst = await Promise.all(Array.from({ length: 10 }, () => post(KEYS.tpm, chat({ model: 'slow-chat', max_tokens: 200 }))));
  const served = burst.filter((r) => r.status === 200);
  const refused = burst.filter((r) => r.status === 429);
  assert.equal(served.length, 4, `served ${served.length}`);
  assert.ok(refused.every((r) => r.body.error.code === 'rate_limit_tokens' && Number(r.headers.get('retry-after-ms')) > 0));
  assert.equal(refused[0]!.headers.get('x-ratelimit-limit-tokens'), '1000');
  // The four used far less than they reserved (the simulator answers at most 48 tokens): what they
  // did not use came back, so the next one fits although 4 × 210 + 210 would not.
  const used = served.reduce((n, r) => n + r.body.usage.total_tokens, 0);
  assert.ok(used < 300, `used ${used}`);
  const next = await post(KEYS.tpm, chat({ max_tokens: 200 }));
  assert.equal(next.status, 200, JSON.stringify(next.body));
  const remaining = Number(next.headers.get('x-ratelimit-remaining-tokens'));
  assert.ok(remaining >= 1000 - used - 220 && remaining <= 1000 - used - 200 + 50, `remaining ${remaining} after ${used} used`);
});

test('a prompt whose byte size is over the limit but whose tokens are not is counted, not refused', async () => {
  // 900 bytes of 'hello ' is about 150 tokens: the byte bound alone (906 + 100) would not fit 1000.
  const r = await post(KEYS.bound, JSON.stringify({ model: 'test-chat', messages: [{ role: 'user', content: 'hello '.repeat(150) }], max_tokens: 100 }));
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const remaining = Number(r.headers.get('x-ratelimit-remaining-tokens'));
  assert.ok(remaining > 600 && remaining < 800, `the exact count was reserved: ${remaining} left`);
});

test('a failed request gives its reserved tokens back; a stream carries the headers', async () => {
  const big = chat({ max_tokens: 1000 });
  const crashed = await post(KEYS.fail, big, { 'x-sluice-fault': 'crash' });
  assert.ok(crashed.status >= 500, `status ${crashed.status}`);
  assert.equal(crashed.headers.get('x-ratelimit-limit-tokens'), '1100', 'errors after the limit carry its headers');
  // Had the crash kept its 1010 tokens, this would wait; it served nothing, so it holds nothing.
  const res = await fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${KEYS.fail}`, 'content-type': 'application/json' }, body: chat({ max_tokens: 1000, stream: true }) });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'text/event-stream; charset=utf-8');
  assert.equal(res.headers.get('x-ratelimit-limit-tokens'), '1100');
  assert.ok(Number(res.headers.get('x-ratelimit-remaining-tokens')) < 100, 'the stream holds its reservation');
  assert.match(res.headers.get('x-ratelimit-reset-tokens') ?? '', /^\d+(\.\d+)?s$|^\d+ms$/);
  assert.match(await res.text(), /\[DONE\]/);
});

test('a stream cut before the engine reported usage still spends its prompt', async () => {
  const prompt = 'hello '.repeat(300); // about 300 tokens
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${KEYS.cut}`, 'content-type': 'application/json', 'x-sluice-fault': 'cut-stream' },
    body: JSON.stringify({ model: 'test-chat', messages: [{ role: 'user', content: prompt }], max_tokens: 40, stream: true }),
  });
  assert.equal(res.status, 200);
  assert.match(await res.text(), /"error"/, 'the stream broke');
  await sleep(50);
  const next = await post(KEYS.cut);
  assert.equal(next.status, 200);
  const remaining = Number(next.headers.get('x-ratelimit-remaining-tokens'));
  // Had the prompt been refunded, only the few streamed tokens and this request's 13 would be gone.
  assert.ok(remaining < 10_000 - 300, `remaining ${remaining}`);
});

test("a model's limit is per key; an account's limit is shared by its keys", async () => {
  const onModel = (key: string) => post(key, chat({ model: 'per-key' }));
  assert.equal((await onModel(KEYS.modelA)).status, 200);
  assert.equal((await onModel(KEYS.modelA)).status, 200);
  const third = await onModel(KEYS.modelA);
  assert.equal(third.body.error.code, 'rate_limit_requests');
  assert.match(third.body.error.message, /this model for this API key/);
  assert.equal((await onModel(KEYS.modelB)).status, 200, 'another key has its own allowance');
  assert.equal((await post(KEYS.modelA)).status, 200, 'other models are not limited');

  assert.equal((await post(KEYS.shared1)).status, 200);
  assert.equal((await post(KEYS.shared2)).status, 200);
  assert.equal((await post(KEYS.shared1)).status, 200);
  const shared = await post(KEYS.shared2);
  assert.equal(shared.body.error.code, 'rate_limit_requests');
  assert.match(shared.body.error.message, /this account/);
});

test('a refused request consumes nothing: no credit, no ledger row; it is in the metrics', async () => {
  assert.equal((await post(KEYS.credits)).status, 200);
  await gw.settled();
  const before = await gw.store.accounts.get('lim-credits');
  const rowsBefore = await gw.store.usage.count();
  const refused = await post(KEYS.credits);
  assert.equal(refused.status, 429);
  await gw.settled();
  assert.equal((await gw.store.accounts.get('lim-credits'))!.creditsNanos, before!.creditsNanos, 'no credit taken');
  assert.equal(await gw.store.usage.count(), rowsBefore, 'no ledger row');
  const metrics = await (await fetch(`${gw.url}/metrics`)).text();
  assert.match(metrics, /sluice_rate_limited_total\{code="rate_limit_requests",scope="key"\} [1-9]/);
  assert.match(metrics, /sluice_requests_total\{endpoint="chat",model="test-chat",deployment="",status="429",code="rate_limit_requests"\} [1-9]/);
});

test('a key under no limit gets no rate-limit headers', async () => {
  const r = await http(`${gw.url}/v1/chat/completions`, { method: 'POST', key: gw.key, body: chat() });
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('x-ratelimit-limit-requests'), null);
  assert.equal(r.headers.get('x-ratelimit-limit-tokens'), null);
});
