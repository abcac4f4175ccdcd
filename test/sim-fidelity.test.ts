// The simulator behaves like a real engine for what client libraries build on: logprobs, tool
// calls (streamed the way OpenAI streams them), JSON output, n and prompt arrays, stop and seed.
// Through the gateway and the official `openai` client; schemas checked with ajv.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import Ajv2020Module from 'ajv/dist/2020.js';
import type OpenAI from 'openai';
import { startSimServer, type SimServer } from '../src/sim/sim-server.js';
import { http, startTestGateway, simModel, type TestGateway } from './helpers/gateway.js';
import { assertContractError } from './helpers/assert-error.js';

// ajv is CommonJS: under NodeNext its default import is `module.exports`, whose `.default` is the class.
const Ajv2020 = Ajv2020Module.default;
// Formats are annotations here (no ajv-formats); the date format is checked by hand below.
const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true });

let gw: TestGateway;
let sim: SimServer;
let c: OpenAI;
const MODEL = 'fid';
/** The same simulator over HTTP (`sluice sim`) behind the openai engine. */
const PROXIED = 'fid-http';

before(async () => {
  sim = await startSimServer({ settings: { ttftMs: 1, itlMs: 1 } });
  gw = await startTestGateway({ models: [simModel(MODEL), { id: PROXIED, deployments: [{ id: 'up', engine: 'openai', baseUrl: sim.url }] }] });
  c = gw.client();
});
after(async () => {
  await gw?.close();
  await sim?.close();
});

const user = (content: string) => [{ role: 'user' as const, content }];

/** A schema with most of what tool definitions use: $defs/$ref, nesting, enums, bounds, anyOf with null. */
const bookingSchema = {
  type: 'object',
  $defs: { guest: { type: 'object', properties: { name: { type: 'string', minLength: 3 }, age: { type: 'integer', minimum: 18, maximum: 99 } }, required: ['name', 'age'], additionalProperties: false } },
  properties: {
    city: { type: 'string', enum: ['Paris', 'Lyon', 'Nice'] },
    nights: { type: 'integer', minimum: 1, maximum: 14 },
    price: { type: 'number', exclusiveMinimum: 0, maximum: 500 },
    breakfast: { type: 'boolean' },
    arrival: { type: 'string', format: 'date' },
    guests: { type: 'array', items: { $ref: '#/$defs/guest' }, minItems: 2, maxItems: 4 },
    note: { anyOf: [{ type: 'string', maxLength: 40 }, { type: 'null' }] },
    kind: { const: 'hotel' },
    tags: { type: 'array', items: { type: 'string' } },
  },
  required: ['city', 'nights', 'price', 'breakfast', 'arrival', 'guests', 'note', 'kind'],
  additionalProperties: false,
} as const;
const validBooking = ajv.compile(bookingSchema);

const weatherSchema = { type: 'object', properties: { city: { type: 'string' }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'] } }, required: ['city', 'unit'], additionalProperties: false } as const;
const validWeather = ajv.compile(weatherSchema);

const tools: OpenAI.ChatCompletionTool[] = [
  { type: 'function', function: { name: 'book_hotel', description: 'Books a hotel', parameters: bookingSchema as unknown as Record<string, unknown> } },
  { type: 'function', function: { name: 'get_weather', description: 'The weather in a city', parameters: weatherSchema as unknown as Record<string, unknown> } },
];

function assertValid(validate: ReturnType<typeof ajv.compile>, value: unknown, what: string): void {
  assert.ok(validate(value), `${what} ${JSON.stringify(value)}: ${ajv.errorsText(validate.errors)}`);
}

function assertArguments(call: { function: { name: string; arguments: string } }): void {
  const args = JSON.parse(call.function.arguments) as Record<string, unknown>;
  if (call.function.name === 'book_hotel') {
    assertValid(validBooking, args, 'book_hotel arguments');
    assert.match(String(args.arrival), /^\d{4}-\d{2}-\d{2}$/, 'format date');
  } else {
    assert.equal(call.function.name, 'get_weather');
    assertValid(validWeather, args, 'get_weather arguments');
  }
}

describe('chat logprobs', () => {
  test('one entry per token: the chosen token first and most likely, bytes its UTF-8', async () => {
    const body = { model: MODEL, messages: user('Tell me about logprobs.'), seed: 3 };
    const r = await c.chat.completions.create({ ...body, logprobs: true, top_logprobs: 3 });
    const ch = r.choices[0]!;
    assert.equal(ch.message.refusal, null);
    assert.equal(ch.logprobs!.refusal, null);
    const entries = ch.logprobs!.content!;
    assert.equal(entries.length, r.usage!.completion_tokens);
    assert.equal(entries.map((e) => e.token).join(''), ch.message.content);
    for (const e of entries) {
      assert.ok(e.logprob <= 0, `logprob ${e.logprob}`);
      assert.deepEqual(e.bytes, [...Buffer.from(e.token, 'utf8')]);
      assert.equal(e.top_logprobs.length, 3);
      assert.equal(e.top_logprobs[0]!.token, e.token);
      assert.equal(e.top_logprobs[0]!.logprob, e.logprob);
      assert.equal(new Set(e.top_logprobs.map((t) => t.token)).size, 3, 'distinct alternatives');
      for (const alt of e.top_logprobs.slice(1)) {
        assert.ok(alt.logprob <= e.logprob, `${alt.logprob} > ${e.logprob}`);
        assert.deepEqual(alt.bytes, [...Buffer.from(alt.token, 'utf8')]);
      }
      const mass = e.top_logprobs.reduce((s, t) => s + Math.exp(t.logprob), 0);
      assert.ok(mass <= 1 + 1e-9, `probabilities sum to ${mass}`);
    }
    // Asking for logprobs changes nothing else; not asking gives null.
    const plain = await c.chat.completions.create(body);
    assert.equal(plain.choices[0]!.message.content, ch.message.content);
    assert.equal(plain.choices[0]!.logprobs, null);
    assert.equal(plain.choices[0]!.message.refusal, null);
    const zero = await c.chat.completions.create({ ...body, logprobs: true, top_logprobs: 0 });
    assert.ok(zero.choices[0]!.logprobs!.content!.every((e) => e.top_logprobs.length === 0));
  });

  test('streamed: each content chunk carries its token entry, the same as in the whole answer', async () => {
    const body = { model: MODEL, messages: user('Stream the logprobs.'), seed: 4, logprobs: true, top_logprobs: 2 };
    const whole = await c.chat.completions.create(body);
    const stream = await c.chat.completions.create({ ...body, stream: true });
    const entries: OpenAI.ChatCompletionTokenLogprob[] = [];
    let text = '';
    for await (const chunk of stream) {
      const ch = chunk.choices[0];
      if (!ch?.delta.content) continue;
      text += ch.delta.content;
      assert.equal(ch.logprobs!.content!.length, 1);
      assert.equal(ch.logprobs!.content![0]!.token, ch.delta.content);
      assert.equal(ch.logprobs!.refusal, null);
      entries.push(ch.logprobs!.content![0]!);
    }
    assert.equal(text, whole.choices[0]!.message.content);
    assert.deepEqual(entries, whole.choices[0]!.logprobs!.content);
  });

  test('top_logprobs without logprobs is refused, as vLLM and OpenAI do, in process and over HTTP', async () => {
    for (const model of [MODEL, PROXIED]) {
      const res = await http(`${gw.baseURL}/chat/completions`, { method: 'POST', key: gw.key, body: JSON.stringify({ model, messages: user('x'), top_logprobs: 2 }) });
      assertContractError(res, 'invalid_parameter', 'top_logprobs');
    }
  });
});

describe('completions logprobs', () => {
  test('tokens, token_logprobs, top_logprobs and text_offset, whole and streamed', async () => {
    const body = { model: MODEL, prompt: 'Once upon a time', seed: 5, logprobs: 3 };
    const r = await c.completions.create(body);
    const ch = r.choices[0]!;
    const lp = ch.logprobs!;
    const n = r.usage!.completion_tokens;
    assert.equal(lp.tokens!.length, n);
    assert.equal(lp.tokens!.join(''), ch.text);
    assert.equal(lp.token_logprobs!.length, n);
    assert.equal(lp.top_logprobs!.length, n);
    let offset = 0;
    for (let i = 0; i < n; i++) {
      const tok = lp.tokens![i]!;
      const top = lp.top_logprobs![i]!;
      assert.ok(lp.token_logprobs![i]! <= 0);
      assert.equal(Object.keys(top).length, 3);
      assert.equal(top[tok], lp.token_logprobs![i], 'the sampled token is among the top');
      assert.equal(Math.max(...Object.values(top)), lp.token_logprobs![i]);
      assert.equal(lp.text_offset![i], offset);
      offset += tok.length;
    }
    const stream = await c.completions.create({ ...body, stream: true });
    const tokens: string[] = [];
    const offsets: number[] = [];
    const values: number[] = [];
    for await (const chunk of stream) {
      const s = chunk.choices[0];
      if (!s?.text) continue;
      assert.deepEqual(s.logprobs!.tokens, [s.text]);
      tokens.push(s.text);
      offsets.push(...s.logprobs!.text_offset!);
      values.push(...s.logprobs!.token_logprobs!);
    }
    assert.deepEqual(tokens, lp.tokens);
    assert.deepEqual(offsets, lp.text_offset);
    assert.deepEqual(values, lp.token_logprobs);
    const plain = await c.completions.create({ model: MODEL, prompt: 'Once upon a time', seed: 5 });
    assert.equal(plain.choices[0]!.logprobs, null);
    assert.equal(plain.choices[0]!.text, ch.text);
  });
});

describe('tool calls', () => {
  const ask = { model: MODEL, messages: user('Book me a hotel in Paris for two.'), tools };

  test('required: a call to one of the tools, with arguments valid under its schema', async () => {
    const names = new Set<string>();
    for (const seed of [1, 2, 3, 4, 5, 6]) {
      const r = await c.chat.completions.create({ ...ask, tool_choice: 'required', seed });
      const ch = r.choices[0]!;
      assert.equal(ch.finish_reason, 'tool_calls');
      assert.equal(ch.message.content, null);
      assert.equal(ch.message.refusal, null);
      assert.equal(ch.message.tool_calls!.length, 1);
      const call = ch.message.tool_calls![0]! as OpenAI.ChatCompletionMessageFunctionToolCall;
      assert.match(call.id, /^call_[A-Za-z0-9]{24}$/);
      assert.equal(call.type, 'function');
      assertArguments(call);
      names.add(call.function.name);
      assert.ok(r.usage!.completion_tokens > 3, 'the arguments are completion tokens');
    }
    assert.equal(names.size, 2, 'the tool is picked by the seed: both get picked');
  });

  test('a named function: that function, every time', async () => {
    for (const seed of [1, 2, 3, 4]) {
      const r = await c.chat.completions.create({ ...ask, tool_choice: { type: 'function', function: { name: 'book_hotel' } }, seed });
      const call = r.choices[0]!.message.tool_calls![0]! as OpenAI.ChatCompletionMessageFunctionToolCall;
      assert.equal(r.choices[0]!.finish_reason, 'tool_calls');
      assert.equal(call.function.name, 'book_hotel');
      assertArguments(call);
    }
    const res = await http(`${gw.baseURL}/chat/completions`, { method: 'POST', key: gw.key, body: JSON.stringify({ ...ask, tool_choice: { type: 'function', function: { name: 'nope' } } }) });
    assertContractError(res, 'invalid_parameter', 'tool_choice');
  });

  test('streamed as OpenAI streams calls: id and name first, then argument pieces that reassemble', async () => {
    const body = { ...ask, tool_choice: { type: 'function' as const, function: { name: 'book_hotel' } }, seed: 9 };
    const whole = await c.chat.completions.create(body);
    const stream = await c.chat.completions.create({ ...body, stream: true, stream_options: { include_usage: true } });
    const calls: Array<{ id: string; name: string; arguments: string }> = [];
    let pieces = 0;
    let first: OpenAI.ChatCompletionChunk.Choice.Delta | undefined;
    let finish: string | null | undefined;
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) {
      if (chunk.usage) usage = chunk.usage;
      const ch = chunk.choices[0];
      if (!ch) continue;
      first ??= ch.delta;
      finish = ch.finish_reason ?? finish;
      for (const tc of ch.delta.tool_calls ?? []) {
        const at = (calls[tc.index] ??= { id: '', name: '', arguments: '' });
        if (tc.id) at.id = tc.id;
        if (tc.function?.name) at.name = tc.function.name;
        if (tc.function?.arguments) {
          at.arguments += tc.function.arguments;
          pieces++;
        }
      }
    }
    assert.equal(first!.role, 'assistant');
    assert.equal(first!.content, null);
    assert.deepEqual(first!.tool_calls, [{ index: 0, id: calls[0]!.id, type: 'function', function: { name: 'book_hotel', arguments: '' } }]);
    assert.equal(finish, 'tool_calls');
    assert.equal(calls.length, 1);
    const call = whole.choices[0]!.message.tool_calls![0]! as OpenAI.ChatCompletionMessageFunctionToolCall;
    assert.deepEqual(calls[0], { id: call.id, name: call.function.name, arguments: call.function.arguments });
    assert.ok(pieces > 5, `arguments in several pieces: ${pieces}`);
    assert.equal(usage!.completion_tokens, pieces);
    assert.deepEqual(usage, whole.usage);
  });

  test('the SDK stream helper assembles the same call', async () => {
    const body = { ...ask, tool_choice: 'required' as const, seed: 10 };
    const whole = await c.chat.completions.create(body);
    const final = await c.chat.completions.stream(body).finalChatCompletion();
    assert.equal(final.choices[0]!.finish_reason, 'tool_calls');
    const a = final.choices[0]!.message.tool_calls![0]! as OpenAI.ChatCompletionMessageFunctionToolCall;
    const b = whole.choices[0]!.message.tool_calls![0]! as OpenAI.ChatCompletionMessageFunctionToolCall;
    assert.deepEqual([a.id, a.function.name, a.function.arguments], [b.id, b.function.name, b.function.arguments]);
    assertArguments(a);
  });

  test('an agent loop: a call, then after the tool result a text answer', async () => {
    for (const seed of [1, 2, 3]) {
      const messages: OpenAI.ChatCompletionMessageParam[] = user('What is the weather in Paris?');
      const first = await c.chat.completions.create({ model: MODEL, messages, tools, tool_choice: 'required', seed });
      const msg = first.choices[0]!.message;
      const call = msg.tool_calls![0]! as OpenAI.ChatCompletionMessageFunctionToolCall;
      assertArguments(call);
      messages.push(msg, { role: 'tool', tool_call_id: call.id, content: '{"temperature":21}' });
      const second = await c.chat.completions.create({ model: MODEL, messages, tools, seed });
      assert.equal(second.choices[0]!.finish_reason, 'stop');
      assert.equal(second.choices[0]!.message.tool_calls, undefined);
      assert.ok(second.choices[0]!.message.content!.length > 0);
    }
  });

  test('auto: called for some prompts and seeds, not others, the same way every time; none: never', async () => {
    const outcome = async (seed: number, tool_choice?: 'auto' | 'none') => {
      const r = await c.chat.completions.create({ model: MODEL, messages: user('Maybe use a tool.'), tools, seed, ...(tool_choice ? { tool_choice } : {}) });
      const ch = r.choices[0]!;
      assert.equal(ch.finish_reason === 'tool_calls', ch.message.tool_calls !== undefined);
      if (ch.message.tool_calls) assertArguments(ch.message.tool_calls[0]! as OpenAI.ChatCompletionMessageFunctionToolCall);
      return ch.message.tool_calls ? `call ${JSON.stringify(ch.message.tool_calls)}` : `text ${ch.message.content}`;
    };
    const seeds = Array.from({ length: 12 }, (_, i) => i + 1);
    const first = await Promise.all(seeds.map((s) => outcome(s, 'auto')));
    const again = await Promise.all(seeds.map((s) => outcome(s, 'auto')));
    assert.deepEqual(again, first);
    // tool_choice absent with tools is auto.
    assert.deepEqual(await Promise.all(seeds.map((s) => outcome(s))), first);
    const calls = first.filter((o) => o.startsWith('call')).length;
    assert.ok(calls > 0 && calls < seeds.length, `${calls} of ${seeds.length} called a tool`);
    const none = await Promise.all(seeds.map((s) => outcome(s, 'none')));
    assert.ok(none.every((o) => o.startsWith('text')));
  });

  test('seed: the same call again, another seed another call; max_tokens cuts the arguments', async () => {
    const args = async (seed: number) => {
      const r = await c.chat.completions.create({ ...ask, tool_choice: { type: 'function', function: { name: 'book_hotel' } }, seed });
      return (r.choices[0]!.message.tool_calls![0]! as OpenAI.ChatCompletionMessageFunctionToolCall).function.arguments;
    };
    assert.equal(await args(21), await args(21));
    assert.notEqual(await args(22), await args(21));
    const cut = await c.chat.completions.create({ ...ask, tool_choice: 'required', seed: 21, max_tokens: 4 });
    assert.equal(cut.choices[0]!.finish_reason, 'length');
    assert.equal(cut.usage!.completion_tokens, 4);
    const text = (cut.choices[0]!.message.tool_calls![0]! as OpenAI.ChatCompletionMessageFunctionToolCall).function.arguments;
    assert.throws(() => JSON.parse(text), `cut arguments are not whole JSON: ${text}`);
  });
});

describe('JSON output', () => {
  test('json_object: a JSON object, the same streamed, repeatable by seed', async () => {
    const body = { model: MODEL, messages: user('Answer in JSON.'), response_format: { type: 'json_object' as const }, seed: 1 };
    const r = await c.chat.completions.create(body);
    const content = r.choices[0]!.message.content!;
    const value = JSON.parse(content) as unknown;
    assert.ok(typeof value === 'object' && value !== null && !Array.isArray(value), content);
    assert.ok(Object.keys(value).length >= 2);
    assert.equal(r.choices[0]!.finish_reason, 'stop');
    const stream = await c.chat.completions.create({ ...body, stream: true });
    const deltas: string[] = [];
    for await (const chunk of stream) if (chunk.choices[0]?.delta.content) deltas.push(chunk.choices[0].delta.content);
    assert.ok(deltas.length > 3, `${deltas.length} deltas`);
    assert.equal(deltas.join(''), content);
    assert.equal(deltas.length, r.usage!.completion_tokens);
    assert.equal((await c.chat.completions.create(body)).choices[0]!.message.content, content);
    assert.notEqual((await c.chat.completions.create({ ...body, seed: 2 })).choices[0]!.message.content, content);
  });

  test('json_schema: content valid under the schema, streamed alike; max_tokens truncates with length', async () => {
    const body = {
      model: MODEL,
      messages: user('Book it, answer in JSON.'),
      response_format: { type: 'json_schema' as const, json_schema: { name: 'booking', strict: true, schema: bookingSchema as unknown as Record<string, unknown> } },
    };
    for (const seed of [1, 2, 3]) {
      const content = (await c.chat.completions.create({ ...body, seed })).choices[0]!.message.content!;
      assertValid(validBooking, JSON.parse(content), 'json_schema content');
    }
    const whole = await c.chat.completions.create({ ...body, seed: 7 });
    const stream = await c.chat.completions.create({ ...body, seed: 7, stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    assert.equal(text, whole.choices[0]!.message.content);
    const cut = await c.chat.completions.create({ ...body, seed: 7, max_tokens: 5 });
    assert.equal(cut.choices[0]!.finish_reason, 'length');
    assert.equal(cut.usage!.completion_tokens, 5);
    assert.ok(whole.choices[0]!.message.content!.startsWith(cut.choices[0]!.message.content!));
    assert.throws(() => JSON.parse(cut.choices[0]!.message.content!));
  });
});

describe('n and prompt arrays', () => {
  test('completions: prompts × n choices, index = prompt * n + i, each seeded by its own prompt', async () => {
    const prompts = ['The sea', 'A mountain range', 'Cities at night'];
    const r = await c.completions.create({ model: MODEL, prompt: prompts, n: 2, seed: 8 });
    assert.equal(r.choices.length, 6);
    assert.deepEqual(r.choices.map((ch) => ch.index), [0, 1, 2, 3, 4, 5]);
    let promptTokens = 0;
    for (let p = 0; p < prompts.length; p++) {
      const alone = await c.completions.create({ model: MODEL, prompt: prompts[p]!, n: 2, seed: 8 });
      promptTokens += alone.usage!.prompt_tokens;
      for (let i = 0; i < 2; i++) assert.equal(r.choices[p * 2 + i]!.text, alone.choices[i]!.text, `prompt ${p} choice ${i}`);
    }
    assert.equal(r.usage!.prompt_tokens, promptTokens);
    assert.equal(new Set(r.choices.map((ch) => ch.text)).size, 6);
    // Streamed: the same text per index.
    const texts: string[] = Array.from({ length: 6 }, () => '');
    const finishes: Array<string | null> = Array.from({ length: 6 }, () => null);
    for await (const chunk of await c.completions.create({ model: MODEL, prompt: prompts, n: 2, seed: 8, stream: true })) {
      for (const ch of chunk.choices) {
        texts[ch.index] += ch.text;
        finishes[ch.index] = ch.finish_reason ?? finishes[ch.index]!;
      }
    }
    assert.deepEqual(texts, r.choices.map((ch) => ch.text));
    assert.deepEqual(finishes, r.choices.map((ch) => ch.finish_reason));
  });

  test('token-id prompt arrays: one choice each, prompt tokens summed', async () => {
    const r = await c.completions.create({ model: MODEL, prompt: [[1, 2, 3], [4, 5]], max_tokens: 2 });
    assert.equal(r.choices.length, 2);
    assert.equal(r.usage!.prompt_tokens, 5);
    assert.equal(r.usage!.completion_tokens, 4);
  });

  test('echo puts the prompt before the text', async () => {
    const r = await c.completions.create({ model: MODEL, prompt: 'Echo me', echo: true, seed: 2 });
    const plain = await c.completions.create({ model: MODEL, prompt: 'Echo me', seed: 2 });
    assert.equal(r.choices[0]!.text, `Echo me${plain.choices[0]!.text}`);
  });

  test('chat n: the same choices streamed and not', async () => {
    const body = { model: MODEL, messages: user('Two ways.'), n: 2, seed: 6 };
    const r = await c.chat.completions.create(body);
    const texts = ['', ''];
    for await (const chunk of await c.chat.completions.create({ ...body, stream: true })) {
      for (const ch of chunk.choices) texts[ch.index] += ch.delta.content ?? '';
    }
    assert.deepEqual(texts, r.choices.map((ch) => ch.message.content));
    assert.notEqual(texts[0], texts[1]);
  });
});

describe('stop and seed', () => {
  test('completions stop: cut before the first stop sequence, streamed and not', async () => {
    const body = { model: MODEL, prompt: 'Say several words', seed: 12 };
    const full = (await c.completions.create(body)).choices[0]!.text;
    const words = full.split(' ').filter((w) => /^[a-z]{3,}$/i.test(w));
    assert.ok(words.length >= 3, `enough words in ${JSON.stringify(full)}`);
    const stop = [` ${words[words.length - 1]}`, ` ${words[1]}`];
    const at = Math.min(...stop.map((s) => full.indexOf(s)));
    const cut = await c.completions.create({ ...body, stop });
    assert.equal(cut.choices[0]!.text, full.slice(0, at));
    assert.equal(cut.choices[0]!.finish_reason, 'stop');
    let streamed = '';
    for await (const chunk of await c.completions.create({ ...body, stop, stream: true })) streamed += chunk.choices[0]?.text ?? '';
    assert.equal(streamed, full.slice(0, at));
  });

  test('seed: repeatable text for chat and completions, another seed another text', async () => {
    const chat = async (seed: number) => (await c.chat.completions.create({ model: MODEL, messages: user('Repeat?'), seed })).choices[0]!.message.content;
    const comp = async (seed: number) => (await c.completions.create({ model: MODEL, prompt: 'Repeat?', seed })).choices[0]!.text;
    assert.equal(await chat(30), await chat(30));
    assert.notEqual(await chat(31), await chat(30));
    assert.equal(await comp(30), await comp(30));
    assert.notEqual(await comp(31), await comp(30));
  });
});

describe('over HTTP', () => {
  /** A stream's payloads without what differs between two runs (id, created, model). */
  const payloads = async (body: Record<string, unknown>) => {
    const res = await http(`${gw.baseURL}/chat/completions`, { method: 'POST', key: gw.key, body: JSON.stringify({ ...body, stream: true }) });
    assert.equal(res.status, 200, res.text);
    return res.text.split('\n\n').filter((e) => e.startsWith('data: {')).map((e) => {
      const { id: _i, created: _c, model: _m, ...rest } = JSON.parse(e.slice(6)) as Record<string, unknown>;
      return rest;
    });
  };

  test('`sluice sim` behind the openai engine streams the same tool calls, logprobs and JSON', async () => {
    const bodies = [
      { messages: user('Book it.'), tools, tool_choice: 'required', seed: 1, logprobs: true, top_logprobs: 2 },
      { messages: user('JSON please.'), response_format: { type: 'json_object' }, seed: 2 },
      { messages: user('Plain text.'), n: 2, seed: 3, logprobs: true },
    ];
    for (const body of bodies) {
      const inProcess = await payloads({ ...body, model: MODEL });
      assert.ok(inProcess.length > 5);
      assert.deepEqual(await payloads({ ...body, model: PROXIED }), inProcess);
    }
  });
});
