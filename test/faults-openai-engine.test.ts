// The `openai` engine in front of the standalone simulator over real HTTP: every injected fault
// becomes the contract's error (raw HTTP and through the official SDK), the fault header is only
// forwarded where the deployment says so, the SDK retries exactly what x-should-retry allows, and
// nothing the upstream said (body, status, host, credentials) reaches the client.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { startSimServer, type SimServer } from '../src/sim/sim-server.js';
import type { ErrorCode } from '../src/errors/catalog.js';
import type { FaultName } from '../src/config/schema.js';
import { SINGLE_ATTEMPT } from './helpers/routing.js';
import { startTestGateway, http, type TestGateway } from './helpers/gateway.js';
import { assertContractError } from './helpers/assert-error.js';

const TIMEOUTS = { firstTokenMs: 300, totalMs: 600, idleMs: 300 };
/** For faults that are not about time, so a loaded machine cannot turn them into timeouts. */
const LAX = { firstTokenMs: 10_000, totalMs: 20_000, idleMs: 10_000 };
const TIME_FAULTS: readonly FaultName[] = ['hang', 'slow-first-token'];
/** `base` (short timeouts) for the faults about time, `base-lax` for the others. */
const modelFor = (base: string, fault: FaultName | undefined) => (fault && TIME_FAULTS.includes(fault) ? base : `${base}-lax`);
const UPSTREAM_KEY_ENV = 'SLUICE_TEST_FAULTS_OPENAI_UPSTREAM_KEY';
const UPSTREAM_KEY = 'sk-upstream-secret-9c41e7';
const UPSTREAM_SECRET_TEXT = 'upstream-internal-detail-5b2d';

type Res = Awaited<ReturnType<typeof http>>;

let sim: SimServer; // the raw fault table runs against this one, concurrently
let countSim: SimServer; // SDK retry counting runs against this one, sequentially
let stub: Server; // answers 401, or streams that go wrong in ways the simulator does not produce
let stubUrl: string;
const stubHits = new Map<string, number>();
const stubAuth: Array<string | undefined> = [];
let gw: TestGateway;

function handleStub(req: IncomingMessage, res: ServerResponse): void {
  const prefix = (req.url ?? '/').split('/')[1] ?? '';
  stubHits.set(prefix, (stubHits.get(prefix) ?? 0) + 1);
  req.resume();
  req.on('end', () => {
    if (prefix === 'auth') {
      stubAuth.push(req.headers.authorization);
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":{"message":"bad key"}}');
      return;
    }
    if (prefix === 'notsse') {
      // A 200 that is not an event stream, to a stream request.
      res.writeHead(200, { 'content-type': 'application/json' }).end(`{"note":"${UPSTREAM_SECRET_TEXT}"}`);
      return;
    }
    const head = { id: 'chatcmpl-stub', object: 'chat.completion.chunk', created: 1, model: 'stub' };
    const ok = JSON.stringify({ ...head, choices: [{ index: 0, delta: { role: 'assistant', content: 'Hello' }, logprobs: null, finish_reason: null }] });
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write(`data: ${ok}\n\n`);
    if (prefix === 'badjson') {
      // Starts with { and ends with }, but is not JSON.
      res.write(`data: {"id":"chatcmpl-stub","choices":[{"index":0,"delta":{"content":"x"}]}\n\n`);
    } else if (prefix === 'errevent') {
      res.write(`data: ${JSON.stringify({ error: { message: UPSTREAM_SECRET_TEXT, type: 'internal', code: 'boom' } })}\n\n`);
    } else if (prefix === 'errspaced') {
      // The same error event as pretty-printing servers send it: valid JSON, whitespace after the brace.
      res.write(`data: ${JSON.stringify({ error: { message: UPSTREAM_SECRET_TEXT, type: 'internal', code: 'boom' } }, null, 1).replaceAll('\n', '')}\n\n`);
    }
    res.end('data: [DONE]\n\n');
  });
}

before(async () => {
  const settings = { ttftMs: 1, itlMs: 1, slowFirstTokenMs: 60_000 };
  sim = await startSimServer({ faultHeader: true, settings });
  countSim = await startSimServer({ faultHeader: true, settings });
  stub = createServer(handleStub);
  await new Promise<void>((resolve) => stub.listen(0, '127.0.0.1', resolve));
  stubUrl = `http://127.0.0.1:${(stub.address() as AddressInfo).port}`;
  process.env[UPSTREAM_KEY_ENV] = UPSTREAM_KEY;
  // One attempt, no circuit: these tests map a single attempt's failure to the catalog (retries,
  // fallbacks and circuits are test/routing*.test.ts's).
  const up = (id: string, baseUrl: string, extra: Record<string, unknown> = {}, timeouts = LAX) => ({
    id, timeouts, ...SINGLE_ATTEMPT, deployments: [{ id: 'up', engine: 'openai', baseUrl, faultHeader: true, ...extra }],
  });
  gw = await startTestGateway({
    models: [
      up('faulty', sim.url, {}, TIMEOUTS),
      up('faulty-lax', sim.url),
      up('plain', sim.url, { faultHeader: false }),
      up('counted', countSim.url, {}, TIMEOUTS),
      up('counted-lax', countSim.url),
      up('authfail', `${stubUrl}/auth/v1`, { apiKeyEnv: UPSTREAM_KEY_ENV }),
      up('badjson', `${stubUrl}/badjson/v1`),
      up('errevent', `${stubUrl}/errevent/v1`),
      up('errspaced', `${stubUrl}/errspaced/v1`),
      up('notsse', `${stubUrl}/notsse/v1`),
      { ...up('emb', sim.url), kind: 'embedding' },
    ],
  });
  // Warm up (key cache, tokenizer tables, connections) so the timing assertions measure timeouts only.
  const warm = await chat('faulty-lax', undefined);
  assert.equal(warm.status, 200, warm.text);
});

after(async () => {
  await gw?.close();
  await sim?.close();
  await countSim?.close();
  stub?.closeAllConnections();
  await new Promise<void>((resolve) => (stub ? stub.close(() => resolve()) : resolve()));
  delete process.env[UPSTREAM_KEY_ENV];
});

function chatBody(model: string, stream: boolean): string {
  return JSON.stringify({ model, stream, messages: [{ role: 'user', content: 'Say hello.' }], max_tokens: 8 });
}

function chat(model: string, fault: FaultName | undefined, stream = false): Promise<Res> {
  return http(`${gw.baseURL}/chat/completions`, {
    method: 'POST',
    key: gw.key,
    headers: fault ? { 'x-sluice-fault': fault } : {},
    body: chatBody(model, stream),
  });
}

/** SSE `data:` payloads of a whole stream body. */
function sseData(text: string): string[] {
  return text.split('\n\n').map((b) => b.trim()).filter(Boolean).map((b) => {
    assert.ok(b.startsWith('data: '), `SSE block ${JSON.stringify(b)}`);
    return b.slice('data: '.length);
  });
}

/** The upstream's own words, address and credentials never reach the client. */
function assertNoLeak(res: Res, upstreamUrl: string): void {
  const host = new URL(upstreamUrl).host;
  for (const text of [res.text, JSON.stringify([...res.headers])]) {
    assert.ok(!text.includes('simulated'), `upstream message leaked: ${text}`);
    assert.ok(!text.includes('teapot'), `upstream message leaked: ${text}`);
    assert.ok(!text.includes('"object":"error"'), `upstream body leaked: ${text}`);
    assert.ok(!text.includes(host), `upstream host leaked: ${text}`);
    assert.ok(!text.includes(UPSTREAM_KEY), 'upstream key leaked');
  }
}

// What each fault must become. Streams fail before their first byte, so they get a real status too.
const jsonCases: Array<[FaultName, ErrorCode]> = [
  ['crash', 'engine_error'],
  // Non-streaming requests go upstream as streams: a hung engine is found at the first-token timeout.
  ['hang', 'first_token_timeout'],
  ['slow-first-token', 'first_token_timeout'],
  ['cut-stream', 'upstream_invalid_response'],
  ['invalid-json', 'upstream_invalid_response'],
  ['reset', 'upstream_unreachable'],
  ['capacity', 'engine_overloaded'],
  ['rate-limited', 'engine_overloaded'],
  ['status-418', 'upstream_unknown_error'],
];
const streamCases: Array<[FaultName, ErrorCode]> = [
  ['crash', 'engine_error'],
  ['hang', 'first_token_timeout'],
  ['slow-first-token', 'first_token_timeout'],
  ['invalid-json', 'upstream_invalid_response'],
  ['reset', 'upstream_unreachable'],
  ['capacity', 'engine_overloaded'],
  ['rate-limited', 'engine_overloaded'],
  ['status-418', 'upstream_unknown_error'],
];

describe('faults over HTTP, raw responses', { concurrency: true }, () => {
  for (const [fault, code] of jsonCases) {
    test(`non-streaming ${fault} → ${code}`, async () => {
      const t0 = performance.now();
      const res = await chat(modelFor('faulty', fault), fault);
      const ms = performance.now() - t0;
      assertContractError(res, code);
      assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
      assertNoLeak(res, sim.url);
      if (code === 'first_token_timeout') {
        assert.ok(ms >= TIMEOUTS.firstTokenMs - 50 && ms < TIMEOUTS.firstTokenMs + 5000, `answered after the first-token timeout, took ${ms} ms`);
      }
      if (fault === 'capacity') assert.ok(Number(res.headers.get('retry-after')) >= 2, 'the upstream asked for 2 s');
    });
  }

  for (const [fault, code] of streamCases) {
    test(`streaming ${fault} → ${code} before the first byte`, async () => {
      const t0 = performance.now();
      const res = await chat(modelFor('faulty', fault), fault, true);
      const ms = performance.now() - t0;
      assertContractError(res, code);
      assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
      assertNoLeak(res, sim.url);
      if (code === 'first_token_timeout') {
        assert.ok(ms >= TIMEOUTS.firstTokenMs - 50 && ms < TIMEOUTS.firstTokenMs + 5000, `answered after the first-token timeout, took ${ms} ms`);
      }
    });
  }

  // The same rows as for the in-process engine (test/faults-sim-engine.test.ts).
  for (const [fault, code] of [['crash', 'engine_error'], ['capacity', 'engine_overloaded'], ['invalid-json', 'upstream_invalid_response']] as const) {
    test(`embeddings ${fault} → ${code}`, async () => {
      const res = await http(`${gw.baseURL}/embeddings`, {
        method: 'POST', key: gw.key, headers: { 'x-sluice-fault': fault }, body: JSON.stringify({ model: 'emb', input: 'hello' }),
      });
      assert.notEqual(res.status, 200, `the ${fault} fault was not injected: a normal embeddings answer came back`);
      assertContractError(res, code);
      assertNoLeak(res, sim.url);
    });
  }

  test('streaming cut-stream → 200 whose body ends with an upstream_invalid_response event, then [DONE]', async () => {
    const res = await chat('faulty-lax', 'cut-stream', true);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
    const rid = res.headers.get('x-request-id');
    assert.match(rid ?? '', /^req_[0-9a-f]{32}$/);
    const data = sseData(res.text);
    assert.equal(data.at(-1), '[DONE]');
    assert.equal(data.filter((d) => d === '[DONE]').length, 1);
    const err = JSON.parse(data.at(-2)!) as { error: Record<string, unknown> };
    assert.equal(err.error.code, 'upstream_invalid_response');
    assert.equal(err.error.type, 'upstream_error');
    assert.equal(err.error.param, null);
    assert.equal(err.error.retryable, true);
    assert.equal(err.error.request_id, rid);
    assert.equal(typeof err.error.message, 'string');
    const chunks = data.slice(0, -2).map((d) => JSON.parse(d) as { choices: unknown[]; error?: unknown });
    assert.ok(chunks.length >= 1 && chunks.length <= 3, `the simulator cuts after 3 chunks, got ${chunks.length}`);
    for (const c of chunks) {
      assert.equal(c.error, undefined);
      assert.ok(Array.isArray(c.choices));
    }
    assertNoLeak(res, sim.url);
  });

  test('an upstream event that is not JSON mid-stream becomes an error event, never passed to the client', async () => {
    const res = await chat('badjson', undefined, true);
    assert.equal(res.status, 200);
    const data = sseData(res.text);
    assert.equal(data.at(-1), '[DONE]');
    for (const d of data.slice(0, -1)) assert.doesNotThrow(() => JSON.parse(d), `client got invalid JSON: ${d}`);
    const last = JSON.parse(data.at(-2)!) as { error?: { code?: string } };
    assert.equal(last.error?.code, 'upstream_invalid_response');
  });

  for (const model of ['errevent', 'errspaced']) {
    test(`an upstream error event mid-stream is mapped, its message never passed through (${model})`, async () => {
      const res = await chat(model, undefined, true);
      assert.equal(res.status, 200);
      const data = sseData(res.text);
      assert.equal(data.at(-1), '[DONE]');
      const err = JSON.parse(data.at(-2)!) as { error: Record<string, unknown> };
      assert.equal(err.error.code, 'upstream_unknown_error');
      assert.equal(err.error.type, 'upstream_error');
      assert.equal(err.error.request_id, res.headers.get('x-request-id'));
      assert.ok(!res.text.includes(UPSTREAM_SECRET_TEXT), 'upstream error message leaked');
      assert.ok(!res.text.includes('"boom"'), 'upstream error code leaked');
    });
  }

  test('a 200 that is not an event stream, to a stream request, is a 502 before any byte, its body kept from the client', async () => {
    const res = await chat('notsse', undefined, true);
    assertContractError(res, 'upstream_invalid_response', null);
    assert.ok(!res.text.includes(UPSTREAM_SECRET_TEXT), 'the upstream body never reaches the client');
  });

  test('without a fault the same deployment answers normally', async () => {
    const res = await chat('faulty-lax', undefined);
    assert.equal(res.status, 200);
    assert.equal(res.body.model, 'faulty-lax');
    assert.equal(typeof res.body.choices[0].message.content, 'string');
    const s = await chat('faulty-lax', undefined, true);
    assert.equal(s.status, 200);
    assert.equal(sseData(s.text).at(-1), '[DONE]');
  });

  test('faultHeader: false does not forward the header: a crash request gets a normal 200', async () => {
    const res = await chat('plain', 'crash');
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.model, 'plain');
    assert.ok(res.body.choices[0].message.content.length > 0);
    const s = await chat('plain', 'cut-stream', true);
    assert.equal(s.status, 200);
    const data = sseData(s.text);
    assert.equal(data.at(-1), '[DONE]');
    assert.ok(!s.text.includes('"error"'), 'no error event');
  });
});

describe('upstream rejects the gateway credentials', () => {
  test('502 upstream_auth_failed, never a 401, never the upstream message, no SDK retry', async () => {
    const before = stubAuth.length;
    const res = await chat('authfail', undefined);
    assertContractError(res, 'upstream_auth_failed');
    assert.notEqual(res.status, 401);
    assert.equal(res.headers.get('x-should-retry'), 'false');
    assert.equal(res.headers.get('www-authenticate'), null);
    const { request_id: _rid, ...rest } = res.body.error as Record<string, unknown>;
    const visible = JSON.stringify(rest);
    assert.ok(!visible.includes('401'), `body mentions 401: ${visible}`);
    assert.ok(!visible.toLowerCase().includes('bad key'), `body carries the upstream message: ${visible}`);
    assertNoLeak(res, stubUrl);
    // The operator's key from apiKeyEnv went upstream, the client's own key did not.
    assert.equal(stubAuth.length, before + 1);
    assert.equal(stubAuth.at(-1), `Bearer ${UPSTREAM_KEY}`);

    const hits0 = stubHits.get('auth') ?? 0;
    const client = gw.client({ maxRetries: 1 });
    await assert.rejects(
      client.chat.completions.create({ model: 'authfail', messages: [{ role: 'user', content: 'hi' }] }),
      (err: unknown) => {
        assert.ok(err instanceof OpenAI.InternalServerError, `got ${String(err)}`);
        assert.ok(!(err instanceof OpenAI.AuthenticationError));
        assert.equal(err.status, 502);
        assert.equal(err.code, 'upstream_auth_failed');
        assert.ok(!err.message.toLowerCase().includes('bad key'));
        return true;
      },
    );
    assert.equal((stubHits.get('auth') ?? 0) - hits0, 1, 'the SDK must not retry a non-retryable error');
  });
});

describe('through the official SDK', () => {
  const client = () => gw.client({ maxRetries: 0 });
  const expectStatusError = (fault: FaultName, stream: boolean, cls: new (...args: never[]) => InstanceType<typeof OpenAI.APIError>, status: number, code: ErrorCode) =>
    test(`${stream ? 'streaming ' : ''}${fault} → ${cls.name} ${status} ${code}`, async () => {
      const c = client();
      await assert.rejects(
        c.chat.completions.create({ model: modelFor('faulty', fault), stream, messages: [{ role: 'user', content: 'hi' }], max_tokens: 8 } as never, { headers: { 'x-sluice-fault': fault } }),
        (err: unknown) => {
          assert.ok(err instanceof cls, `expected ${cls.name}, got ${(err as Error)?.constructor?.name}: ${String(err)}`);
          const e = err as InstanceType<typeof OpenAI.APIError>;
          assert.equal(e.status, status);
          assert.equal(e.code, code);
          assert.match(e.requestID ?? '', /^req_[0-9a-f]{32}$/);
          assert.ok(!e.message.includes('simulated'));
          return true;
        },
      );
    });
  expectStatusError('crash', false, OpenAI.InternalServerError, 500, 'engine_error');
  expectStatusError('capacity', false, OpenAI.InternalServerError, 503, 'engine_overloaded');
  expectStatusError('rate-limited', true, OpenAI.InternalServerError, 503, 'engine_overloaded');
  expectStatusError('reset', false, OpenAI.InternalServerError, 502, 'upstream_unreachable');
  expectStatusError('invalid-json', false, OpenAI.InternalServerError, 502, 'upstream_invalid_response');
  expectStatusError('hang', false, OpenAI.InternalServerError, 504, 'first_token_timeout');
  expectStatusError('status-418', false, OpenAI.APIError, 520, 'upstream_unknown_error');

  test('a mid-stream error arrives through the stream iterator as an APIError', async () => {
    const stream = await client().chat.completions.create(
      { model: 'faulty-lax', stream: true, messages: [{ role: 'user', content: 'hi' }], max_tokens: 8 },
      { headers: { 'x-sluice-fault': 'cut-stream' } },
    );
    let chunks = 0;
    await assert.rejects(
      (async () => {
        for await (const _chunk of stream) chunks++;
      })(),
      (err: unknown) => {
        assert.ok(err instanceof OpenAI.APIError, `got ${String(err)}`);
        assert.equal(err.code, 'upstream_invalid_response');
        assert.equal(err.type, 'upstream_error');
        return true;
      },
    );
    assert.ok(chunks >= 1, 'chunks before the cut arrive');
  });

  test('a mid-stream non-JSON upstream event reaches the SDK as an APIError, not a parse error', async () => {
    const stream = await client().chat.completions.create({ model: 'badjson', stream: true, messages: [{ role: 'user', content: 'hi' }] });
    await assert.rejects(
      (async () => {
        for await (const _chunk of stream) { /* drain */ }
      })(),
      (err: unknown) => {
        assert.ok(err instanceof OpenAI.APIError, `got ${(err as Error)?.constructor?.name}: ${String(err)}`);
        assert.equal(err.code, 'upstream_invalid_response');
        return true;
      },
    );
  });
});

describe('SDK retries follow x-should-retry (upstream hits counted)', () => {
  // Hits per gateway request are measured first, so gateway-side retries do not skew the count.
  const cases: Array<{ fault: FaultName; stream: boolean; code: ErrorCode; retried: boolean }> = [
    { fault: 'crash', stream: false, code: 'engine_error', retried: true },
    { fault: 'reset', stream: false, code: 'upstream_unreachable', retried: true },
    { fault: 'rate-limited', stream: false, code: 'engine_overloaded', retried: true },
    { fault: 'status-418', stream: false, code: 'upstream_unknown_error', retried: true },
    { fault: 'hang', stream: true, code: 'first_token_timeout', retried: true },
    { fault: 'hang', stream: false, code: 'first_token_timeout', retried: true },
  ];
  for (const { fault, stream, code, retried } of cases) {
    test(`${stream ? 'streaming ' : ''}${fault} (${code}) ${retried ? 'is retried once' : 'is not retried'}`, async () => {
      const call = async (maxRetries: number) => {
        const before = countSim.totalHits();
        await assert.rejects(
          gw.client({ maxRetries }).chat.completions.create(
            { model: modelFor('counted', fault), stream, messages: [{ role: 'user', content: 'hi' }], max_tokens: 8 } as never,
            { headers: { 'x-sluice-fault': fault } },
          ),
          (err: unknown) => err instanceof OpenAI.APIError && err.code === code,
        );
        return countSim.totalHits() - before;
      };
      const single = await call(0);
      assert.ok(single >= 1, 'the upstream was asked');
      const withRetry = await call(1);
      assert.equal(withRetry, retried ? 2 * single : single, `upstream hits with maxRetries 1 (one attempt = ${single})`);
    });
  }
});
