// The same faults against the in-process sim engine: the codes must be the ones the `openai` engine
// produces in front of the standalone simulator (test/faults-openai-engine.test.ts), so a test
// written against one simulator means the same against the other.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import type { ErrorCode } from '../src/errors/catalog.js';
import type { FaultName } from '../src/config/schema.js';
import { SINGLE_ATTEMPT } from './helpers/routing.js';
import { startTestGateway, simModel, http, type TestGateway } from './helpers/gateway.js';
import { assertContractError } from './helpers/assert-error.js';

const TIMEOUTS = { firstTokenMs: 300, totalMs: 600, idleMs: 300 };
/** For faults that are not about time, so a loaded machine cannot turn them into timeouts. */
const LAX = { firstTokenMs: 10_000, totalMs: 20_000, idleMs: 10_000 };
const TIME_FAULTS: readonly FaultName[] = ['hang', 'slow-first-token'];
const modelFor = (fault: FaultName) => (TIME_FAULTS.includes(fault) ? 'm' : 'm-lax');

type Res = Awaited<ReturnType<typeof http>>;
let gw: TestGateway;

before(async () => {
  gw = await startTestGateway({
    // One attempt, no circuit: these tests map a single attempt's failure to the catalog.
    models: [
      simModel('m', { timeouts: TIMEOUTS, ...SINGLE_ATTEMPT }, { slowFirstTokenMs: 60_000 }),
      simModel('m-lax', { timeouts: LAX, ...SINGLE_ATTEMPT }, { slowFirstTokenMs: 60_000 }),
      simModel('always-crash', { ...SINGLE_ATTEMPT }, { faultRates: { crash: 1 } }),
      { id: 'deaf', ...SINGLE_ATTEMPT, deployments: [{ id: 'deaf-sim', engine: 'sim', faultHeader: false, sim: { ttftMs: 1, itlMs: 1 } }] },
      { id: 'emb', kind: 'embedding', timeouts: LAX, ...SINGLE_ATTEMPT, deployments: [{ id: 'emb-sim', engine: 'sim', faultHeader: true, sim: { ttftMs: 1, embeddingDimensions: 8 } }] },
    ],
  });
  const warm = await chat('m-lax', undefined);
  assert.equal(warm.status, 200, warm.text);
});

after(async () => {
  await gw?.close();
});

function chat(model: string, fault: FaultName | undefined, stream = false): Promise<Res> {
  return http(`${gw.baseURL}/chat/completions`, {
    method: 'POST',
    key: gw.key,
    headers: fault ? { 'x-sluice-fault': fault } : {},
    body: JSON.stringify({ model, stream, messages: [{ role: 'user', content: 'Say hello.' }], max_tokens: 8 }),
  });
}

function sseData(text: string): string[] {
  return text.split('\n\n').map((b) => b.trim()).filter(Boolean).map((b) => {
    assert.ok(b.startsWith('data: '), `SSE block ${JSON.stringify(b)}`);
    return b.slice('data: '.length);
  });
}

function assertNoLeak(res: Res): void {
  assert.ok(!res.text.includes('simulated'), `engine message leaked: ${res.text}`);
  assert.ok(!res.text.includes('teapot'), `engine message leaked: ${res.text}`);
}

// [fault, non-streaming code, streaming code (before the first byte) or 'mid-stream'].
const table: Array<[FaultName, ErrorCode, ErrorCode | 'mid-stream']> = [
  ['crash', 'engine_error', 'engine_error'],
  // The engine reports a non-streaming answer's first token: hangs are found at the first-token timeout.
  ['hang', 'first_token_timeout', 'first_token_timeout'],
  ['slow-first-token', 'first_token_timeout', 'first_token_timeout'],
  ['cut-stream', 'upstream_invalid_response', 'mid-stream'],
  ['invalid-json', 'upstream_invalid_response', 'upstream_invalid_response'],
  ['reset', 'upstream_unreachable', 'upstream_unreachable'],
  ['capacity', 'engine_overloaded', 'engine_overloaded'],
  ['rate-limited', 'engine_overloaded', 'engine_overloaded'],
  ['status-418', 'upstream_unknown_error', 'upstream_unknown_error'],
];

describe('in-process sim faults map like the HTTP simulator', { concurrency: true }, () => {
  for (const [fault, jsonCode, streamCode] of table) {
    test(`non-streaming ${fault} → ${jsonCode}`, async () => {
      const t0 = performance.now();
      const res = await chat(modelFor(fault), fault);
      const ms = performance.now() - t0;
      assertContractError(res, jsonCode);
      assertNoLeak(res);
      if (jsonCode === 'first_token_timeout') assert.ok(ms >= TIMEOUTS.firstTokenMs - 50 && ms < TIMEOUTS.firstTokenMs + 5000, `took ${ms} ms`);
    });

    if (streamCode !== 'mid-stream') {
      test(`streaming ${fault} → ${streamCode}`, async () => {
        const t0 = performance.now();
        const res = await chat(modelFor(fault), fault, true);
        const ms = performance.now() - t0;
        assertContractError(res, streamCode);
        assertNoLeak(res);
        if (streamCode === 'first_token_timeout') assert.ok(ms >= TIMEOUTS.firstTokenMs - 50 && ms < TIMEOUTS.firstTokenMs + 5000, `took ${ms} ms`);
      });
    } else {
      test(`streaming ${fault} → 200, then an upstream_invalid_response event and [DONE]`, async () => {
        const res = await chat('m-lax', fault, true);
        assert.equal(res.status, 200);
        const data = sseData(res.text);
        assert.equal(data.at(-1), '[DONE]');
        const err = JSON.parse(data.at(-2)!) as { error: Record<string, unknown> };
        assert.equal(err.error.code, 'upstream_invalid_response');
        assert.equal(err.error.type, 'upstream_error');
        assert.equal(err.error.retryable, true);
        assert.equal(err.error.request_id, res.headers.get('x-request-id'));
        const chunks = data.slice(0, -2);
        assert.ok(chunks.length >= 1 && chunks.length <= 3, `cut after 3 chunks, got ${chunks.length}`);
        for (const c of chunks) assert.ok(Array.isArray((JSON.parse(c) as { choices: unknown }).choices));
      });
    }
  }

  // The standalone simulator answers embeddings with these faults too (see the openai-engine file).
  for (const [fault, code] of [['crash', 'engine_error'], ['capacity', 'engine_overloaded'], ['invalid-json', 'upstream_invalid_response']] as const) {
    test(`embeddings ${fault} → ${code}`, async () => {
      const res = await http(`${gw.baseURL}/embeddings`, {
        method: 'POST', key: gw.key, headers: { 'x-sluice-fault': fault }, body: JSON.stringify({ model: 'emb', input: 'hello' }),
      });
      assertContractError(res, code);
    });
  }

  test('faultRates { crash: 1 } fails every request with 500 engine_error, without any header', async () => {
    for (const stream of [false, true, false]) assertContractError(await chat('always-crash', undefined, stream), 'engine_error');
  });

  test('faultHeader: false ignores the header', async () => {
    for (const fault of ['crash', 'hang', 'reset', 'status-418'] as const) {
      const res = await chat('deaf', fault);
      assert.equal(res.status, 200, `${fault}: ${res.text}`);
      assert.equal(res.body.model, 'deaf');
    }
    const s = await chat('deaf', 'cut-stream', true);
    assert.equal(s.status, 200);
    assert.equal(sseData(s.text).at(-1), '[DONE]');
    assert.ok(!s.text.includes('"error"'));
  });

  test('through the SDK: classes and codes match, and a mid-stream cut throws from the iterator', async () => {
    const client = gw.client({ maxRetries: 0 });
    const ask = (fault: FaultName) => client.chat.completions.create({ model: 'm-lax', messages: [{ role: 'user', content: 'hi' }], max_tokens: 8 }, { headers: { 'x-sluice-fault': fault } });
    const check = (status: number, code: ErrorCode) => (err: unknown) => {
      assert.ok(err instanceof OpenAI.InternalServerError, String(err));
      assert.equal(err.status, status);
      assert.equal(err.code, code);
      return true;
    };
    await assert.rejects(ask('crash'), check(500, 'engine_error'));
    await assert.rejects(ask('reset'), check(502, 'upstream_unreachable'));
    await assert.rejects(ask('capacity'), check(503, 'engine_overloaded'));
    await assert.rejects(ask('status-418'), check(520, 'upstream_unknown_error'));
    const stream = await client.chat.completions.create({ model: 'm-lax', stream: true, messages: [{ role: 'user', content: 'hi' }], max_tokens: 8 }, { headers: { 'x-sluice-fault': 'cut-stream' } });
    let chunks = 0;
    await assert.rejects((async () => {
      for await (const _c of stream) chunks++;
    })(), (err: unknown) => err instanceof OpenAI.APIError && err.code === 'upstream_invalid_response');
    assert.ok(chunks >= 1);
  });
});
