// Hung engines, non-streaming too (issue 13): an engine that accepts a non-streaming request and
// sends nothing is answered 504 first_token_timeout (retryable) within about firstTokenMs, not at
// the total timeout; a long generation that makes progress is not cut by that timer; one that
// outruns totalMs is still generation_timeout (not retryable). Over real HTTP, for the `openai`
// engine in front of the standalone simulator (which streams upstream and assembles the answer)
// and for the in-process simulator. The assembled answer is the simulator's own JSON answer.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SINGLE_ATTEMPT } from './helpers/routing.js';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startSimServer, type SimServer } from '../src/sim/sim-server.js';
import type { FaultName } from '../src/config/schema.js';
import { http, simModel, startTestGateway, type TestGateway } from './helpers/gateway.js';
import { assertContractError } from './helpers/assert-error.js';
import { assertValid } from './helpers/openapi-schema.js';

type Body = Record<string, any>;
type Res = Awaited<ReturnType<typeof http>>;

const FIRST_TOKEN_MS = 300;
/** A long total timeout: a hung engine found near it would mean the first-token timer did nothing. */
const TIMEOUTS = { firstTokenMs: FIRST_TOKEN_MS, totalMs: 20_000, idleMs: 20_000 };
const SHORT_TOTAL_MS = 1_500;
const SHORT = { firstTokenMs: FIRST_TOKEN_MS, totalMs: SHORT_TOTAL_MS, idleMs: 20_000 };
/** 20 ms a token: 40 tokens take ~800 ms, well past firstTokenMs; 150 take ~3 s, past SHORT_TOTAL_MS. */
const SLOW = { ttftMs: 1, itlMs: 20, slowFirstTokenMs: 60_000, outputTokens: { min: 200, max: 200 }, load: { kneeSeqs: 64, stepGrowth: 0 } };

let gw: TestGateway;
let slowSim: SimServer;
let fastSim: SimServer;
/** Sends a stream's response headers at once, then nothing: headers are no first token. */
let silent: Server;

before(async () => {
  silent = createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.flushHeaders();
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  slowSim = await startSimServer({ faultHeader: true, settings: SLOW });
  // Default settings, as simModel's in-process simulator has (but for timings): the same answers.
  fastSim = await startSimServer({ settings: { ttftMs: 1, itlMs: 1 } });
  // One attempt, no circuit: these tests time one attempt against a hung engine (retries
  // elsewhere are test/routing.test.ts's).
  const up = (id: string, baseUrl: string, extra: Body = {}) => ({ id, ...SINGLE_ATTEMPT, deployments: [{ id: `${id}-up`, engine: 'openai', baseUrl, faultHeader: true }], ...extra });
  gw = await startTestGateway({
    models: [
      up('up', slowSim.url, { timeouts: TIMEOUTS }),
      up('up-short', slowSim.url, { timeouts: SHORT }),
      up('up-embed', slowSim.url, { kind: 'embedding', timeouts: TIMEOUTS }),
      up('up-silent', `http://127.0.0.1:${(silent.address() as AddressInfo).port}/v1`, { timeouts: TIMEOUTS }),
      simModel('local', { timeouts: TIMEOUTS, ...SINGLE_ATTEMPT }, SLOW),
      simModel('local-short', { timeouts: SHORT, ...SINGLE_ATTEMPT }, SLOW),
      { id: 'local-embed', kind: 'embedding', timeouts: TIMEOUTS, ...SINGLE_ATTEMPT, deployments: [{ id: 'local-embed-sim', engine: 'sim', faultHeader: true, sim: { ttftMs: 1 } }] },
      simModel('same-local'),
      up('same-up', fastSim.url),
    ],
  });
  // Warm up (key cache, token-counting worker) on models with default timeouts, so the timings
  // below measure the timeouts and a cold start is not taken for a hung engine.
  for (const model of ['same-local', 'same-up']) assert.equal((await chat(model, { max_tokens: 2 })).status, 200);
});

after(async () => {
  await gw?.close();
  await slowSim?.close();
  await fastSim?.close();
  silent?.closeAllConnections();
  await new Promise<void>((resolve) => (silent ? silent.close(() => resolve()) : resolve()));
});

function post(path: string, body: Body, fault?: FaultName): Promise<Res> {
  return http(`${gw.baseURL}${path}`, { method: 'POST', key: gw.key, headers: fault ? { 'x-sluice-fault': fault } : {}, body: JSON.stringify(body) });
}

function chat(model: string, extra: Body = {}, fault?: FaultName): Promise<Res> {
  return post('/chat/completions', { model, messages: [{ role: 'user', content: 'Tell me a story.' }], ...extra }, fault);
}

async function timed(send: () => Promise<Res>): Promise<{ res: Res; ms: number }> {
  const t0 = performance.now();
  const res = await send();
  return { res, ms: performance.now() - t0 };
}

for (const [label, model] of [['openai engine → standalone simulator', 'up'], ['in-process simulator', 'local']] as const) {
  describe(`${label}: non-streaming`, () => {
    // hang: the engine sends nothing at all; slow-first-token: its first token comes in a minute.
    for (const fault of ['hang', 'slow-first-token'] as const) {
      test(`${fault}: 504 first_token_timeout, retryable, within about firstTokenMs`, async () => {
        const { res, ms } = await timed(() => chat(model, { max_tokens: 5 }, fault));
        assertContractError(res, 'first_token_timeout');
        assert.equal(res.headers.get('x-should-retry'), 'true');
        assert.ok(ms >= FIRST_TOKEN_MS - 20 && ms < 2_000, `answered after ${ms.toFixed(0)} ms`);
      });
    }

    test('hang, completions: the same', async () => {
      const { res, ms } = await timed(() => post('/completions', { model, prompt: 'Once', max_tokens: 5 }, 'hang'));
      assertContractError(res, 'first_token_timeout');
      assert.ok(ms < 2_000, `answered after ${ms.toFixed(0)} ms`);
    });

    test('a generation longer than firstTokenMs that makes progress is answered whole', async () => {
      const { res, ms } = await timed(() => chat(model, { max_tokens: 40 }));
      assert.equal(res.status, 200, res.text);
      assert.ok(ms > 2 * FIRST_TOKEN_MS, `the generation took ${ms.toFixed(0)} ms: too short to show the first-token timer was stopped`);
      assert.equal(res.body.choices[0].finish_reason, 'length');
      assert.equal(res.body.usage.completion_tokens, 40);
      assertValid('CreateChatCompletionResponse', res.body);
    });

    test('a generation that outruns totalMs: 504 generation_timeout, not retryable', async () => {
      const { res, ms } = await timed(() => chat(`${model}-short`, { max_tokens: 150 }));
      assertContractError(res, 'generation_timeout');
      assert.equal(res.headers.get('x-should-retry'), 'false');
      assert.ok(ms >= SHORT_TOTAL_MS - 20 && ms < SHORT_TOTAL_MS + 2_000, `answered after ${ms.toFixed(0)} ms`);
    });

    if (model === 'up') {
      test('an engine that sends its stream\'s headers, then nothing: 504 first_token_timeout', async () => {
        const { res, ms } = await timed(() => chat('up-silent', { max_tokens: 5 }));
        assertContractError(res, 'first_token_timeout');
        assert.ok(ms >= FIRST_TOKEN_MS - 20 && ms < 2_000, `answered after ${ms.toFixed(0)} ms`);
      });

      // best_of above n cannot be streamed: the engine is asked for the whole answer, whose first
      // token cannot be seen, so only the total timeout applies.
      test('completions with best_of > n: a long generation is answered, a hung engine found at totalMs', async () => {
        const long = await timed(() => post('/completions', { model, prompt: 'Once', best_of: 2, max_tokens: 40 }));
        assert.equal(long.res.status, 200, long.res.text);
        assert.ok(long.ms > 2 * FIRST_TOKEN_MS, `the generation took ${long.ms.toFixed(0)} ms`);
        assertValid('CreateCompletionResponse', long.res.body);
        const hung = await timed(() => post('/completions', { model: 'up-short', prompt: 'Once', best_of: 2, max_tokens: 5 }, 'hang'));
        assertContractError(hung.res, 'generation_timeout');
        assert.ok(hung.ms >= SHORT_TOTAL_MS - 20, `answered after ${hung.ms.toFixed(0)} ms`);
      });
    }

    test('embeddings from a hung engine: 504 first_token_timeout too', async () => {
      const { res, ms } = await timed(() => post('/embeddings', { model: `${model}-embed`, input: 'hello' }, 'hang'));
      assertContractError(res, 'first_token_timeout');
      assert.ok(ms < 2_000, `answered after ${ms.toFixed(0)} ms`);
      const ok = await post('/embeddings', { model: `${model}-embed`, input: 'hello' });
      assert.equal(ok.status, 200, ok.text);
    });
  });
}

describe('the answer assembled from the stream is the engine\'s own JSON answer', () => {
  const weather = { type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' }, days: { type: 'integer' } }, required: ['city', 'days'] } } };
  const user = [{ role: 'user', content: 'Weather in Paris for three days?' }];
  const cases: Array<[string, '/chat/completions' | '/completions', Body, string]> = [
    ['chat text', '/chat/completions', { messages: user, seed: 7 }, 'CreateChatCompletionResponse'],
    ['chat tool call', '/chat/completions', { messages: user, tools: [weather], tool_choice: 'required' }, 'CreateChatCompletionResponse'],
    ['chat logprobs, n = 2', '/chat/completions', { messages: user, n: 2, logprobs: true, top_logprobs: 2, max_tokens: 12 }, 'CreateChatCompletionResponse'],
    ['chat tool calls with logprobs, n = 2', '/chat/completions', { messages: user, n: 2, tools: [weather], tool_choice: 'required', logprobs: true }, 'CreateChatCompletionResponse'],
    ['chat cut by max_tokens', '/chat/completions', { messages: user, max_tokens: 3 }, 'CreateChatCompletionResponse'],
    ['chat JSON output', '/chat/completions', { messages: user, response_format: { type: 'json_object' } }, 'CreateChatCompletionResponse'],
    ['completions logprobs', '/completions', { prompt: 'Once upon a time', logprobs: 2, max_tokens: 6 }, 'CreateCompletionResponse'],
    ['completions echo', '/completions', { prompt: 'Say', echo: true, logprobs: 1, max_tokens: 4 }, 'CreateCompletionResponse'],
    ['completions prompt array, n = 2', '/completions', { prompt: ['In a land', 'Far away'], n: 2, max_tokens: 5 }, 'CreateCompletionResponse'],
  ];
  for (const [name, path, body, schema] of cases) {
    test(name, async () => {
      const [direct, assembled] = await Promise.all([post(path, { model: 'same-local', ...body }), post(path, { model: 'same-up', ...body })]);
      assert.equal(direct.status, 200, direct.text);
      assert.equal(assembled.status, 200, assembled.text);
      assertValid(schema, assembled.body, 'the assembled answer');
      assert.equal(assembled.body.model, 'same-up');
      const strip = ({ id: _id, created: _created, model: _model, ...rest }: Body) => rest;
      assert.deepEqual(strip(assembled.body), strip(direct.body));
    });
  }
});
