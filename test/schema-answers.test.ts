// Every kind of answer a client gets validates against OpenAI's published schemas (vendored in
// test/openapi/): chat (whole and each streamed chunk, raw and through the official `openai`
// client), completions, embeddings, models, and error bodies, from the in-process simulator and
// through the `openai` engine, both in front of `sluice sim` and in front of a fake upstream that
// leaves out what OpenAI's schema requires (message.refusal, choices[].logprobs), which the
// gateway completes. Through the `openai` engine a whole answer is assembled from the stream the
// gateway asks the engine for (tool calls, logprobs, n > 1 and completions among the cases); a
// deployment that opts out (jsonFromStream: false) gets the engine's whole answer, which passes
// through as its bytes. A streamed chunk passes through as the engine's bytes.
import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ErrorObject } from 'ajv/dist/2020.js';
import { startSimServer, type SimServer } from '../src/sim/sim-server.js';
import type { ErrorCode } from '../src/errors/catalog.js';
import { http, simModel, startTestGateway, type TestGateway } from './helpers/gateway.js';
import { assertContractError } from './helpers/assert-error.js';
import { assertValid, formatErrors, openapiSchema, validateAgainst } from './helpers/openapi-schema.js';
import { OpenAIEngine } from '../src/engines/openai/openai-engine.js';
import { createEngine } from '../src/routing/registry.js';

type Body = Record<string, any>;
type Res = Awaited<ReturnType<typeof http>>;

let gw: TestGateway;
let sim: SimServer;
let fake: Server;
let fakeUrl: string;
/** What the fake upstream sent, per path: the gateway must forward exactly these bytes. */
const fakeSent = new Map<string, string[]>();

// ---------------------------------------------------------------------------------------------
// A fake OpenAI-compatible upstream in the style of llama.cpp or Ollama: no `refusal` in the chat
// message, no `logprobs` in the choices. Under /pretty/ it sends a complete answer, pretty-printed,
// to show that what needs nothing passes through byte for byte.

const FAKE_CREATED = 1_700_000_000;

function fakeAnswer(prefix: string, endpoint: string, body: Body): string {
  const usage = { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 };
  if (endpoint === 'completions') {
    return JSON.stringify({ id: 'cmpl-fake', object: 'text_completion', created: FAKE_CREATED, model: body.model, choices: [{ index: 0, text: ' there', finish_reason: 'stop' }], usage });
  }
  if (prefix === 'pretty') {
    const message = { role: 'assistant', content: 'Hello "refusal" there', refusal: null };
    return JSON.stringify({ id: 'chatcmpl-fake', object: 'chat.completion', created: FAKE_CREATED, model: body.model, choices: [{ index: 0, message, logprobs: null, finish_reason: 'stop' }], usage }, null, 2);
  }
  // Two choices, to show each is completed; the content mentions "refusal", to show that a word
  // in the text is not taken for the field.
  const choices = [0, 1].map((index) => ({ index, message: { role: 'assistant', content: `I said "refusal` }, finish_reason: 'stop' }));
  return JSON.stringify({ id: 'chatcmpl-fake', object: 'chat.completion', created: FAKE_CREATED, model: body.model, choices, usage, system_fingerprint: 'fp_fake' });
}

function fakeChunks(body: Body): string[] {
  const head = { id: 'chatcmpl-fake', object: 'chat.completion.chunk', created: FAKE_CREATED, model: body.model };
  // No refusal in any delta (OpenAI's chunk schema does not require it), no logprobs.
  const out = [
    { ...head, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] },
    { ...head, choices: [{ index: 0, delta: { content: 'Hel' }, finish_reason: null }] },
    { ...head, choices: [{ index: 0, delta: { content: 'lo' }, finish_reason: null }] },
    { ...head, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] },
  ].map((c) => JSON.stringify(c));
  if (body.stream_options?.include_usage) out.push(JSON.stringify({ ...head, choices: [], usage: { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 } }));
  return out;
}

function handleFake(req: IncomingMessage, res: ServerResponse): void {
  const parts: Buffer[] = [];
  req.on('data', (c: Buffer) => parts.push(c));
  req.on('end', () => {
    const [, prefix = '', , endpoint = ''] = (req.url ?? '').split('/'); // /<prefix>/v1/<endpoint>
    const body = JSON.parse(Buffer.concat(parts).toString('utf8')) as Body;
    if (prefix === 'unsupported') {
      // As vLLM refuses what it cannot do; the gateway answers its own contract's error.
      res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ object: 'error', message: 'audio output is not supported', type: 'BadRequestError', param: 'modalities', code: 400 }));
      return;
    }
    const key = `${prefix}/${endpoint}${body.stream ? '/stream' : ''}`;
    // Under /ignores/ the upstream answers whole even when asked for a stream.
    if (body.stream && prefix !== 'ignores') {
      const chunks = fakeChunks(body);
      fakeSent.set(key, chunks);
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      for (const c of chunks) res.write(`data: ${c}\n\n`);
      res.end('data: [DONE]\n\n');
      return;
    }
    const text = fakeAnswer(prefix, endpoint, body);
    fakeSent.set(key, [text]);
    res.writeHead(200, { 'content-type': 'application/json' }).end(text);
  });
}

before(async () => {
  sim = await startSimServer({ settings: { ttftMs: 1, itlMs: 1 } });
  fake = createServer(handleFake);
  await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve));
  fakeUrl = `http://127.0.0.1:${(fake.address() as AddressInfo).port}`;
  const up = (id: string, baseUrl: string, extra: Body = {}, deployment: Body = {}) => ({ id, deployments: [{ id: `${id}-up`, engine: 'openai', baseUrl, ...deployment }], ...extra });
  gw = await startTestGateway({
    server: { maxBodyBytes: 64 * 1024 },
    models: [
      simModel('test-chat'),
      simModel('tiny-context', { contextLength: 30 }),
      { id: 'test-embed', kind: 'embedding', deployments: [{ id: 'embed-sim', engine: 'sim', sim: { ttftMs: 1 } }] },
      up('up-chat', sim.url),
      up('up-embed', sim.url, { kind: 'embedding' }),
      up('fake-chat', `${fakeUrl}/bare/v1`),
      up('fake-chat-json', `${fakeUrl}/bare/v1`, {}, { jsonFromStream: false }),
      up('fake-pretty', `${fakeUrl}/pretty/v1`, {}, { jsonFromStream: false }),
      up('fake-ignores-stream', `${fakeUrl}/ignores/v1`),
      up('fake-unsupported', `${fakeUrl}/unsupported/v1`),
    ],
  });
});


after(async () => {
  await gw?.close();
  await sim?.close();
  fake?.closeAllConnections();
  await new Promise<void>((resolve) => (fake ? fake.close(() => resolve()) : resolve()));
});

// ---------------------------------------------------------------------------------------------
// Helpers.

function post(path: string, body: Body, headers: Record<string, string> = {}): Promise<Res> {
  return http(`${gw.baseURL}${path}`, { method: 'POST', key: gw.key, headers, body: JSON.stringify(body) });
}

/** SSE `data:` payloads of a whole stream body, which must end with [DONE]. */
function sseData(text: string): string[] {
  const blocks = text.split('\n\n').map((b) => b.trim()).filter(Boolean);
  const data = blocks.map((b) => {
    assert.ok(b.startsWith('data: '), `SSE block ${JSON.stringify(b.slice(0, 200))}`);
    return b.slice('data: '.length);
  });
  assert.equal(data.pop(), '[DONE]', 'the stream ends with [DONE]');
  return data;
}

/**
 * A 200, or — for a feature the simulator does not have yet — its contract refusal, after which
 * the test is skipped with a note (so it picks the feature up as soon as it lands).
 */
function okOrSkip(t: TestContext, res: Res, feature: string): boolean {
  if (res.status === 200) return true;
  if (res.status === 400 && res.body?.error?.code === 'unsupported_parameter') {
    t.skip(`the engine does not support ${feature} yet: ${res.body.error.message}`);
    return false;
  }
  assert.fail(`${feature}: status ${res.status} ${res.text.slice(0, 500)}`);
}

/**
 * Streamed completions are typed in OpenAI's document as CreateCompletionResponse, whose
 * finish_reason is not nullable; OpenAI itself sends null in every chunk but the last. Only that
 * is forgiven.
 */
function completionChunkErrors(chunk: Body): ErrorObject[] {
  return validateAgainst('CreateCompletionResponse', chunk).filter((e) => {
    const m = /^\/choices\/(\d+)\/finish_reason$/.exec(e.instancePath);
    return !(m && chunk.choices?.[Number(m[1])]?.finish_reason === null);
  });
}

/** Decodes base64 embeddings and validates the answer as the float form the schema describes. */
function assertValidBase64Embeddings(body: Body, dims: number): void {
  const decoded = {
    ...body,
    data: body.data.map((d: Body) => {
      assert.equal(typeof d.embedding, 'string', 'encoding_format base64 answers a string');
      const bytes = Buffer.from(d.embedding as string, 'base64');
      assert.equal(bytes.length, dims * 4, 'float32 little-endian, one per dimension');
      const floats = new Float32Array(bytes.buffer, bytes.byteOffset, dims);
      return { ...d, embedding: Array.from(floats) };
    }),
  };
  assertValid('CreateEmbeddingResponse', decoded, 'base64 embeddings, decoded');
}

// ---------------------------------------------------------------------------------------------
// Chat, completions and embeddings: the same suite for the in-process simulator and for the
// `openai` engine in front of `sluice sim`.

const weather = {
  type: 'function',
  function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' }, days: { type: 'integer' } }, required: ['city', 'days'] } },
};

/** Chat requests, each answered whole and streamed; `check` looks at the feature in the whole answer. */
const CHAT_CASES: Array<{ name: string; body: Body; feature?: string; check?: (answer: Body) => void }> = [
  { name: 'plain', body: { messages: [{ role: 'user', content: 'Hello there' }], max_tokens: 6 } },
  { name: 'n=2 with stop', body: { messages: [{ role: 'user', content: 'Two answers' }], n: 2, stop: ['\n'], max_completion_tokens: 8 }, check: (a) => assert.equal(a.choices.length, 2) },
  {
    name: 'logprobs with top_logprobs',
    feature: 'logprobs',
    body: { messages: [{ role: 'user', content: 'Scores' }], logprobs: true, top_logprobs: 2, max_tokens: 5 },
    check: (a) => assert.ok(Array.isArray(a.choices[0].logprobs?.content) && a.choices[0].logprobs.content.length > 0, 'logprobs.content is filled'),
  },
  {
    name: 'tool call (tool_choice required)',
    feature: 'tool calls',
    body: { messages: [{ role: 'user', content: 'Weather in Paris?' }], tools: [weather], tool_choice: 'required' },
    check: (a) => {
      const m = a.choices[0].message;
      assert.equal(a.choices[0].finish_reason, 'tool_calls');
      assert.equal(m.tool_calls?.[0]?.function?.name, 'get_weather');
      assert.doesNotThrow(() => JSON.parse(m.tool_calls[0].function.arguments), 'arguments are JSON');
    },
  },
  {
    name: 'n=2 tool calls with logprobs',
    feature: 'tool calls',
    body: { messages: [{ role: 'user', content: 'Weather in Oslo?' }], tools: [weather], tool_choice: 'required', n: 2, logprobs: true, top_logprobs: 1 },
    check: (a) => {
      assert.equal(a.choices.length, 2);
      for (const c of a.choices) {
        assert.equal(c.finish_reason, 'tool_calls');
        const args = c.message.tool_calls[0].function.arguments as string;
        assert.doesNotThrow(() => JSON.parse(args), 'arguments are JSON');
        assert.equal(c.logprobs.content.map((e: Body) => e.token).join(''), args, 'one logprob entry per argument token');
      }
    },
  },
  {
    name: 'JSON output (response_format json_object)',
    feature: 'JSON output',
    body: { messages: [{ role: 'user', content: 'Answer in JSON' }], response_format: { type: 'json_object' } },
    check: (a) => {
      if (a.choices[0].finish_reason === 'stop') assert.doesNotThrow(() => JSON.parse(a.choices[0].message.content), 'content is JSON');
    },
  },
  {
    name: 'JSON output (response_format json_schema)',
    feature: 'JSON output',
    body: { messages: [{ role: 'user', content: 'Answer' }], response_format: { type: 'json_schema', json_schema: { name: 'a', strict: true, schema: { type: 'object', properties: { answer: { type: 'string' } }, required: ['answer'], additionalProperties: false } } } },
    check: (a) => {
      if (a.choices[0].finish_reason === 'stop') assert.equal(typeof JSON.parse(a.choices[0].message.content).answer, 'string');
    },
  },
];

const COMPLETION_CASES: Array<{ name: string; body: Body; feature?: string; choices?: number }> = [
  { name: 'string prompt', body: { prompt: 'Once upon a time', max_tokens: 6 }, choices: 1 },
  { name: 'prompt array', body: { prompt: ['Once upon a time', 'In a land'], max_tokens: 4 }, feature: 'prompt arrays', choices: 2 },
  { name: 'token prompts with n=2', body: { prompt: [[1, 2, 3], [4, 5]], n: 2, max_tokens: 3 }, feature: 'prompt arrays', choices: 4 },
  { name: 'echo and suffix', body: { prompt: 'Say', echo: true, suffix: ' end', max_tokens: 4 }, choices: 1 },
  { name: 'logprobs 2', body: { prompt: 'Scores', logprobs: 2, max_tokens: 4 }, feature: 'logprobs', choices: 1 },
  { name: 'logprobs 1 with n=2', body: { prompt: 'Scores', logprobs: 1, n: 2, max_tokens: 4 }, feature: 'logprobs', choices: 2 },
];

function answerSuite(label: string, chatModel: string, embedModel: string): void {
  describe(`${label}: chat completions`, () => {
    for (const c of CHAT_CASES) {
      test(`${c.name}, whole`, async (t) => {
        const res = await post('/chat/completions', { model: chatModel, ...c.body });
        if (!okOrSkip(t, res, c.feature ?? c.name)) return;
        assertValid('CreateChatCompletionResponse', res.body);
        assert.equal(res.body.model, chatModel);
        c.check?.(res.body);
      });
      test(`${c.name}, each streamed chunk`, async (t) => {
        const res = await post('/chat/completions', { model: chatModel, ...c.body, stream: true, stream_options: { include_usage: true } });
        if (!okOrSkip(t, res, c.feature ?? c.name)) return;
        const data = sseData(res.text);
        assert.ok(data.length >= 3, `a few chunks, got ${data.length}`);
        for (const [i, d] of data.entries()) assertValid('CreateChatCompletionStreamResponse', JSON.parse(d), `chunk ${i}`);
        const last = JSON.parse(data.at(-1)!);
        assert.deepEqual(last.choices, [], 'the usage chunk has no choices');
        assert.equal(typeof last.usage.total_tokens, 'number');
      });
    }

    test('through the openai client: whole and streamed', async () => {
      const client = gw.client();
      const whole = await client.chat.completions.create({ model: chatModel, messages: [{ role: 'user', content: 'Hi' }], max_tokens: 5 });
      assertValid('CreateChatCompletionResponse', whole, 'the SDK answer');
      const stream = await client.chat.completions.create({ model: chatModel, messages: [{ role: 'user', content: 'Hi' }], max_tokens: 5, stream: true, stream_options: { include_usage: true } });
      let n = 0;
      for await (const chunk of stream) assertValid('CreateChatCompletionStreamResponse', chunk, `SDK chunk ${n++}`);
      assert.ok(n >= 3);
    });
  });

  describe(`${label}: completions`, () => {
    for (const c of COMPLETION_CASES) {
      test(`${c.name}, whole`, async (t) => {
        const res = await post('/completions', { model: chatModel, ...c.body });
        if (!okOrSkip(t, res, c.feature ?? c.name)) return;
        assertValid('CreateCompletionResponse', res.body);
        if (c.choices !== undefined && res.body.choices.length !== c.choices) {
          // A simulator without prompt arrays answers one choice: valid, but not the feature.
          if (c.feature === 'prompt arrays') return t.skip(`the engine does not answer each prompt of an array yet (${res.body.choices.length} choices)`);
          assert.equal(res.body.choices.length, c.choices);
        }
        if (c.feature === 'logprobs') assert.ok(Array.isArray(res.body.choices[0].logprobs?.tokens), 'logprobs.tokens is filled');
      });
      test(`${c.name}, each streamed chunk`, async (t) => {
        const res = await post('/completions', { model: chatModel, ...c.body, stream: true, stream_options: { include_usage: true } });
        if (!okOrSkip(t, res, c.feature ?? c.name)) return;
        const data = sseData(res.text);
        for (const [i, d] of data.entries()) {
          const chunk = JSON.parse(d);
          const errors = completionChunkErrors(chunk);
          assert.deepEqual(errors, [], `chunk ${i} does not match CreateCompletionResponse:\n${formatErrors(errors)}\n${d}`);
        }
      });
    }
    test('through the openai client', async () => {
      const r = await gw.client().completions.create({ model: chatModel, prompt: 'Hi', max_tokens: 4 });
      assertValid('CreateCompletionResponse', r, 'the SDK answer');
    });
  });

  describe(`${label}: embeddings`, () => {
    test('float, one string', async () => {
      const res = await post('/embeddings', { model: embedModel, input: 'The food was delicious.' });
      assert.equal(res.status, 200, res.text);
      assertValid('CreateEmbeddingResponse', res.body);
    });
    test('float, strings, token ids and dimensions', async () => {
      for (const input of [['one', 'two'], [1, 2, 3], [[1, 2], [3]]]) {
        const res = await post('/embeddings', { model: embedModel, input, dimensions: 64 });
        assert.equal(res.status, 200, res.text);
        assertValid('CreateEmbeddingResponse', res.body, `embeddings of ${JSON.stringify(input)}`);
        assert.equal(res.body.data[0].embedding.length, 64);
      }
    });
    test('base64: a string the schema does not describe, which decodes to the float form', async () => {
      // OpenAI's Embedding schema types `embedding` as an array of numbers only; with
      // encoding_format base64 OpenAI (and the SDK) send and expect a base64 string of float32s.
      const res = await post('/embeddings', { model: embedModel, input: ['a', 'b'], encoding_format: 'base64', dimensions: 32 });
      assert.equal(res.status, 200, res.text);
      assertValidBase64Embeddings(res.body, 32);
    });
    test('through the openai client (which asks for base64 and decodes it)', async () => {
      const r = await gw.client().embeddings.create({ model: embedModel, input: 'hello', dimensions: 16 });
      assertValid('CreateEmbeddingResponse', r, 'the SDK answer');
      assert.equal(r.data[0]!.embedding.length, 16);
    });
  });
}

answerSuite('simulator', 'test-chat', 'test-embed');
answerSuite('openai engine → sluice sim', 'up-chat', 'up-embed');

// ---------------------------------------------------------------------------------------------
// The `openai` engine in front of an upstream that leaves fields out.

describe('openai engine: completing what the upstream left out', () => {
  test('an answer assembled from a stream without refusal or logprobs has both, null', async () => {
    fakeSent.delete('bare/chat/stream');
    const res = await post('/chat/completions', { model: 'fake-chat', messages: [{ role: 'user', content: 'Hi' }] });
    assert.equal(res.status, 200, res.text);
    assert.ok(fakeSent.has('bare/chat/stream'), 'the upstream was asked for a stream');
    assertValid('CreateChatCompletionResponse', res.body);
    assert.deepEqual(res.body, {
      id: 'chatcmpl-fake',
      object: 'chat.completion',
      created: FAKE_CREATED,
      model: 'fake-chat',
      choices: [{ index: 0, message: { role: 'assistant', content: 'Hello', refusal: null }, logprobs: null, finish_reason: 'stop' }],
      usage: { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 },
    });
  });

  test('a whole chat answer without message.refusal or logprobs is completed with null', async () => {
    const res = await post('/chat/completions', { model: 'fake-chat-json', messages: [{ role: 'user', content: 'Hi' }] });
    assert.equal(res.status, 200, res.text);
    const sent = JSON.parse(fakeSent.get('bare/chat')![0]!);
    assert.equal(sent.choices[0].message.refusal, undefined, 'the upstream sent no refusal');
    assertValid('CreateChatCompletionResponse', res.body);
    for (const c of res.body.choices) {
      assert.equal(c.message.refusal, null);
      assert.equal(c.logprobs, null);
    }
    // Nothing else changed.
    const expected = structuredClone(sent);
    for (const c of expected.choices) {
      c.message.refusal = null;
      c.logprobs = null;
    }
    assert.deepEqual(res.body, expected);
  });

  test('an upstream that answers whole when asked for a stream: its answer, completed', async () => {
    const res = await post('/chat/completions', { model: 'fake-ignores-stream', messages: [{ role: 'user', content: 'Hi' }] });
    assert.equal(res.status, 200, res.text);
    assertValid('CreateChatCompletionResponse', res.body);
    const expected = JSON.parse(fakeSent.get('ignores/chat/stream')![0]!);
    for (const c of expected.choices) {
      c.message.refusal = null;
      c.logprobs = null;
    }
    assert.deepEqual(res.body, expected);
  });

  test('the same through the openai client', async () => {
    const r = await gw.client().chat.completions.create({ model: 'fake-chat', messages: [{ role: 'user', content: 'Hi' }] });
    assertValid('CreateChatCompletionResponse', r, 'the SDK answer');
    assert.equal(r.choices[0]!.message.refusal, null);
  });

  test('a whole completion without logprobs is completed with null', async () => {
    const res = await post('/completions', { model: 'fake-chat-json', prompt: 'Hi' });
    assert.equal(res.status, 200, res.text);
    assertValid('CreateCompletionResponse', res.body);
    assert.equal(res.body.choices[0].logprobs, null);
  });

  test('an answer that needs nothing passes through byte for byte', async () => {
    const res = await post('/chat/completions', { model: 'fake-pretty', messages: [{ role: 'user', content: 'Hi' }] });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.text, fakeSent.get('pretty/chat')![0], 'the upstream bytes, not a re-serialization');
    assertValid('CreateChatCompletionResponse', res.body);
  });

  test('stream chunks without refusal validate and pass through as sent', async () => {
    const res = await post('/chat/completions', { model: 'fake-chat', messages: [{ role: 'user', content: 'Hi' }], stream: true });
    assert.equal(res.status, 200, res.text);
    const data = sseData(res.text);
    // The usage chunk the gateway asked for (the client did not) is dropped; the rest are the upstream's bytes.
    assert.deepEqual(data, fakeSent.get('bare/chat/stream')!.slice(0, -1));
    for (const [i, d] of data.entries()) assertValid('CreateChatCompletionStreamResponse', JSON.parse(d), `chunk ${i}`);
  });

  test('streamed through the openai client', async () => {
    const stream = await gw.client().chat.completions.create({ model: 'fake-chat', messages: [{ role: 'user', content: 'Hi' }], stream: true, stream_options: { include_usage: true } });
    let text = '';
    for await (const chunk of stream) {
      assertValid('CreateChatCompletionStreamResponse', chunk, 'SDK chunk');
      text += chunk.choices[0]?.delta.content ?? '';
    }
    assert.equal(text, 'Hello');
  });
});

// ---------------------------------------------------------------------------------------------
// Models and errors.

describe('models', () => {
  test('GET /v1/models', async () => {
    const res = await http(`${gw.baseURL}/models`, { key: gw.key });
    assert.equal(res.status, 200);
    assertValid('ListModelsResponse', res.body);
    assert.ok(res.body.data.length >= 5);
  });
  test('GET /v1/models/{id}', async () => {
    const res = await http(`${gw.baseURL}/models/test-chat`, { key: gw.key });
    assert.equal(res.status, 200);
    assertValid('Model', res.body);
  });
  test('through the openai client', async () => {
    const client = gw.client();
    const ids: string[] = [];
    for await (const m of client.models.list()) {
      assertValid('Model', m, `model ${m.id}`);
      ids.push(m.id);
    }
    assert.ok(ids.includes('test-chat'));
    assertValid('Model', await client.models.retrieve('up-chat'), 'retrieved model');
  });
});

describe('error bodies', () => {
  test("OpenAI's Error does not forbid the contract's extra fields", () => {
    const error = openapiSchema('Error') as Body;
    assert.notEqual(error.additionalProperties, false);
    assert.notEqual(error.unevaluatedProperties, false);
    assert.notEqual((openapiSchema('ErrorResponse') as Body).additionalProperties, false);
  });

  const chat = (model = 'test-chat', extra: Body = {}) => ({ model, messages: [{ role: 'user', content: 'Hi' }], max_tokens: 4, ...extra });
  const cases: Array<[string, ErrorCode, () => Promise<Res>, string | null]> = [
    ['no key', 'missing_api_key', () => http(`${gw.baseURL}/chat/completions`, { method: 'POST', body: JSON.stringify(chat()) }), null],
    ['a wrong key', 'invalid_api_key', () => http(`${gw.baseURL}/models`, { key: 'sk-sluice-nope_00000000000000000000' }), null],
    ['bad JSON', 'invalid_json', () => http(`${gw.baseURL}/chat/completions`, { method: 'POST', key: gw.key, body: '{"model":' }), null],
    ['an invalid field', 'invalid_parameter', () => post('/chat/completions', chat('test-chat', { temperature: 5 })), 'temperature'],
    ['a field the engine does not support', 'unsupported_parameter', () => post('/chat/completions', chat('fake-unsupported', { modalities: ['text', 'audio'], audio: { voice: 'alloy', format: 'wav' } })), 'modalities'],
    ['an unknown model', 'model_not_found', () => post('/chat/completions', chat('no-such-model')), 'model'],
    ['an unknown model id', 'model_not_found', () => http(`${gw.baseURL}/models/no-such-model`, { key: gw.key }), null],
    ['over the context', 'context_length_exceeded', () => post('/chat/completions', chat('tiny-context', { messages: [{ role: 'user', content: 'word '.repeat(100) }] })), 'messages'],
    ['an unknown route', 'route_not_found', () => http(`${gw.baseURL}/nothing`, { key: gw.key }), null],
    ['a wrong method', 'method_not_allowed', () => http(`${gw.baseURL}/chat/completions`, { key: gw.key }), null],
    ['a body too large', 'payload_too_large', () => post('/chat/completions', chat('test-chat', { pad: 'x'.repeat(70 * 1024) })), null],
    ['an engine crash', 'engine_error', () => post('/chat/completions', chat(), { 'x-sluice-fault': 'crash' }), null],
    ['an engine at capacity', 'engine_overloaded', () => post('/chat/completions', chat(), { 'x-sluice-fault': 'capacity' }), null],
    ['an engine answering 418', 'upstream_unknown_error', () => post('/chat/completions', chat(), { 'x-sluice-fault': 'status-418' }), null],
  ];
  for (const [name, code, send, param] of cases) {
    test(`${name}: ${code}`, async () => {
      const res = await send();
      assertValid('ErrorResponse', res.body, `the ${code} body`);
      assert.equal(res.body.error.code, code, res.text);
      assertContractError(res, code, param);
    });
  }

  test('an error event inside a stream', async () => {
    const res = await post('/chat/completions', chat('test-chat', { stream: true, max_tokens: 40 }), { 'x-sluice-fault': 'cut-stream' });
    assert.equal(res.status, 200);
    const data = sseData(res.text);
    const last = JSON.parse(data.at(-1)!);
    assert.ok(last.error, `the stream ends with an error event: ${data.at(-1)}`);
    assertValid('ErrorResponse', last, 'the SSE error event');
    for (const d of data.slice(0, -1)) assertValid('CreateChatCompletionStreamResponse', JSON.parse(d));
  });
});
