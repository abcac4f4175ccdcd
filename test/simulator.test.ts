// The simulator's model of an inference server: deterministic text, real token counts, max_tokens,
// stop, n, prefill cost on the first token, batch slots with a queue, and embeddings. Through the
// gateway and the official SDK where possible, against SimCore directly where timing must be exact.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { simSettingsSchema, type SimSettings } from '../src/config/schema.js';
import { SimCore } from '../src/sim/sim-core.js';
import { startTestGateway, simModel, http, type TestGateway } from './helpers/gateway.js';
import { assertContractError } from './helpers/assert-error.js';

let gw: TestGateway;

/** Each answer takes ~400 ms. */
const SLOW = { ttftMs: 40, itlMs: 40, outputTokens: { min: 10, max: 10 } };

before(async () => {
  gw = await startTestGateway({
    models: [
      simModel('gen'),
      simModel('seqs2', {}, { ...SLOW, maxNumSeqs: 2 }),
      simModel('q0', {}, { ...SLOW, maxNumSeqs: 1, maxQueue: 0 }),
      simModel('prefill', {}, { ttftMs: 0, prefillMsPerToken: 3 }),
      simModel('other-seed', {}, { seed: 7 }),
      { id: 'test-embed', kind: 'embedding', deployments: [{ id: 'embed-sim', engine: 'sim', sim: { ttftMs: 1 } }] },
    ],
  });
  const warm = await gw.client().chat.completions.create({ model: 'gen', messages: [{ role: 'user', content: 'warm up' }] });
  assert.equal(warm.object, 'chat.completion');
});

after(async () => {
  await gw?.close();
});

const user = (content: string) => [{ role: 'user' as const, content }];

function core(settings: Partial<SimSettings>): SimCore {
  return new SimCore(simSettingsSchema.parse(settings));
}

describe('text and tokens', () => {
  test('same seed and prompt give the same text; another seed or prompt, another text', async () => {
    const c = gw.client();
    const ask = async (model: string, content: string, seed?: number) =>
      (await c.chat.completions.create({ model, messages: user(content), ...(seed === undefined ? {} : { seed }) })).choices[0]!.message.content!;
    const a = await ask('gen', 'Tell me a story.', 42);
    assert.ok(a.length > 0);
    assert.equal(await ask('gen', 'Tell me a story.', 42), a);
    assert.notEqual(await ask('gen', 'Tell me a story.', 43), a);
    assert.notEqual(await ask('gen', 'Tell me a different story.', 42), a);
    // The deployment's seed matters too.
    assert.notEqual(await ask('other-seed', 'Tell me a story.', 42), a);
  });

  test('the stream carries the same text, and completion_tokens equals the streamed pieces', async () => {
    const c = gw.client();
    const body = { model: 'gen', messages: user('Count the pieces.'), seed: 5 };
    const whole = await c.chat.completions.create(body);
    const stream = await c.chat.completions.create({ ...body, stream: true, stream_options: { include_usage: true } });
    const pieces: string[] = [];
    let usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number } | undefined;
    let finish: string | null | undefined;
    for await (const chunk of stream) {
      const ch = chunk.choices[0];
      if (ch?.delta.content) pieces.push(ch.delta.content);
      if (ch?.finish_reason) finish = ch.finish_reason;
      if (chunk.usage) usage = chunk.usage;
    }
    assert.ok(usage, 'usage chunk');
    assert.ok(pieces.length >= 8, `at least outputTokens.min pieces, got ${pieces.length}`);
    assert.equal(usage.completion_tokens, pieces.length);
    assert.equal(usage.total_tokens, usage.prompt_tokens + usage.completion_tokens);
    assert.equal(pieces.join(''), whole.choices[0]!.message.content);
    assert.deepEqual(whole.usage, usage);
    assert.equal(finish, 'stop');
  });

  test('prompt_tokens is a real count that grows with the prompt', async () => {
    const c = gw.client();
    const tokens = async (content: string) => (await c.chat.completions.create({ model: 'gen', messages: user(content), max_tokens: 1 })).usage!.prompt_tokens;
    const short = await tokens('word '.repeat(10).trim());
    const long = await tokens('word '.repeat(110).trim());
    // " word" is one token in any BPE vocabulary worth the name: 100 more words, about 100 more tokens.
    assert.ok(long - short >= 90 && long - short <= 110, `short ${short}, long ${long}`);
    assert.ok(short >= 10 && short < 30, `short ${short}`);
  });

  test('max_tokens caps the output with finish_reason length', async () => {
    const c = gw.client();
    const r = await c.chat.completions.create({ model: 'gen', messages: user('Go on and on.'), max_tokens: 3 });
    assert.equal(r.choices[0]!.finish_reason, 'length');
    assert.equal(r.usage!.completion_tokens, 3);
    const stream = await c.chat.completions.create({ model: 'gen', messages: user('Go on and on.'), max_tokens: 3, stream: true });
    let pieces = 0;
    let finish: string | null | undefined;
    for await (const chunk of stream) {
      if (chunk.choices[0]?.delta.content) pieces++;
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    assert.equal(pieces, 3);
    assert.equal(finish, 'length');
    // max_completion_tokens is the same cap.
    const m = await c.chat.completions.create({ model: 'gen', messages: user('Go on and on.'), max_completion_tokens: 2 });
    assert.equal(m.usage!.completion_tokens, 2);
    assert.equal(m.choices[0]!.finish_reason, 'length');
  });

  test('stop cuts the text before the stop sequence', async () => {
    const c = gw.client();
    const body = { model: 'gen', messages: user('Say several words.'), seed: 11 };
    const full = (await c.chat.completions.create(body)).choices[0]!.message.content!;
    const words = full.split(' ').filter((w) => /^[a-z]{3,}$/i.test(w));
    assert.ok(words.length >= 3, `enough words in ${JSON.stringify(full)}`);
    const stop = ` ${words[Math.floor(words.length / 2)]}`;
    const cut = await c.chat.completions.create({ ...body, stop });
    const text = cut.choices[0]!.message.content!;
    assert.equal(text, full.slice(0, full.indexOf(stop)));
    assert.ok(text.length < full.length);
    assert.ok(!text.includes(stop));
    assert.equal(cut.choices[0]!.finish_reason, 'stop');
    assert.ok(cut.usage!.completion_tokens < (await c.chat.completions.create(body)).usage!.completion_tokens);
  });

  test('n: 3 gives three different choices', async () => {
    const r = await gw.client().chat.completions.create({ model: 'gen', messages: user('Three answers, please.'), n: 3 });
    assert.equal(r.choices.length, 3);
    assert.deepEqual(r.choices.map((ch) => ch.index), [0, 1, 2]);
    const texts = r.choices.map((ch) => ch.message.content!);
    assert.equal(new Set(texts).size, 3, JSON.stringify(texts));
    for (const t of texts) assert.ok(t.length > 0);
    // Every choice's tokens are counted.
    const streamed = await gw.client().chat.completions.create({ model: 'gen', messages: user('Three answers, please.'), n: 3, stream: true, stream_options: { include_usage: true } });
    const perChoice = [0, 0, 0];
    let completion = -1;
    for await (const chunk of streamed) {
      for (const ch of chunk.choices) if (ch.delta.content) perChoice[ch.index]!++;
      if (chunk.usage) completion = chunk.usage.completion_tokens;
    }
    assert.equal(completion, perChoice[0]! + perChoice[1]! + perChoice[2]!);
    assert.equal(completion, r.usage!.completion_tokens);
  });

  test('completions endpoint: same generator, text and usage', async () => {
    const r = await gw.client().completions.create({ model: 'gen', prompt: 'Once upon a time', max_tokens: 4 });
    assert.equal(r.object, 'text_completion');
    assert.equal(r.choices[0]!.finish_reason, 'length');
    assert.equal(r.usage!.completion_tokens, 4);
    assert.ok(r.choices[0]!.text.length > 0);
  });
});

describe('timing', () => {
  test('time to first token grows with prefill (SimCore)', async () => {
    const sim = core({ ttftMs: 0, itlMs: 0, prefillMsPerToken: 3, outputTokens: { min: 2, max: 2 } });
    const ttft = async (content: string) => {
      const plan = await sim.plan('chat', { model: 'x', messages: user(content) });
      const t0 = performance.now();
      const it = sim.stream(plan, new AbortController().signal, false);
      await it.next();
      const ms = performance.now() - t0;
      await it.return(undefined);
      return { ms, tokens: plan.usage.prompt_tokens };
    };
    const short = await ttft('hi');
    const long = await ttft('word '.repeat(200));
    assert.ok(long.tokens > 150 && short.tokens < 20);
    assert.ok(long.ms >= 3 * long.tokens - 10, `long prompt (${long.tokens} tokens) took ${long.ms} ms`);
    assert.ok(long.ms - short.ms >= 300, `prefill cost: short ${short.ms} ms, long ${long.ms} ms`);
  });

  test('time to first token grows with prefill (through the gateway stream)', async () => {
    const ttfb = async (content: string) => {
      const t0 = performance.now();
      const stream = await gw.client().chat.completions.create({ model: 'prefill', messages: user(content), max_tokens: 2, stream: true });
      const it = stream[Symbol.asyncIterator]();
      await it.next();
      const ms = performance.now() - t0;
      for (let r = await it.next(); !r.done; r = await it.next()) { /* drain */ }
      return ms;
    };
    const short = await ttfb('hi');
    const long = await ttfb('word '.repeat(200));
    assert.ok(long >= 580, `long prompt first chunk after ${long} ms`);
    assert.ok(long - short >= 300, `short ${short} ms, long ${long} ms`);
  });

  test('maxNumSeqs 2: of 4 concurrent requests the last two start only after the first two end (SimCore)', async () => {
    const sim = core({ ttftMs: 200, itlMs: 0, prefillMsPerToken: 0, maxNumSeqs: 2, outputTokens: { min: 1, max: 1 } });
    const plans = await Promise.all([0, 1, 2, 3].map((i) => sim.plan('chat', { model: 'x', messages: user(`request ${i}`) })));
    const t0 = performance.now();
    const spans = await Promise.all(plans.map(async (plan, i) => {
      const signal = new AbortController().signal;
      const release = await sim.admit(signal);
      const start = performance.now() - t0;
      try {
        await sim.complete(plan, signal);
      } finally {
        release();
      }
      return { i, start, end: performance.now() - t0 };
    }));
    const [a, b, c, d] = spans.sort((x, y) => x.start - y.start) as [typeof spans[0], typeof spans[0], typeof spans[0], typeof spans[0]];
    assert.ok(b.start < Math.min(a.end, b.end) - 150, `first two run at once: ${JSON.stringify(spans)}`);
    const firstEnd = Math.min(a.end, b.end);
    assert.ok(c.start >= firstEnd - 1 && d.start >= firstEnd - 1, `last two wait: ${JSON.stringify(spans)}`);
    assert.ok(c.start >= 190 && d.start >= 190, JSON.stringify(spans));
    assert.ok(d.start < Math.max(a.end, b.end) + 50, `one slot each: ${JSON.stringify(spans)}`);
    assert.equal(sim.scheduler.load.running, 0);
    assert.equal(sim.scheduler.load.waiting, 0);
  });

  test('maxNumSeqs 2 through the gateway: 4 concurrent requests take two rounds', async () => {
    const c = gw.client();
    const one = async () => {
      const t0 = performance.now();
      await c.chat.completions.create({ model: 'seqs2', messages: user('hello') });
      return performance.now() - t0;
    };
    const single = await one();
    const t0 = performance.now();
    const each = await Promise.all([one(), one(), one(), one()]);
    const total = performance.now() - t0;
    assert.ok(single >= 380, `one answer takes ~400 ms, took ${single}`);
    assert.ok(total >= 1.8 * single, `4 requests on 2 slots: total ${total} ms, single ${single} ms`);
    assert.ok(total < 3.5 * single, `2 ran at once: total ${total} ms, single ${single} ms`);
    assert.equal(each.filter((ms) => ms >= 1.8 * single).length >= 2, true, `two of them queued: ${each.join(', ')}`);
  });

  test('maxQueue 0 with one slot: of 2 concurrent requests one gets 503 engine_overloaded', async () => {
    const send = () => http(`${gw.baseURL}/chat/completions`, { method: 'POST', key: gw.key, body: JSON.stringify({ model: 'q0', messages: user('hello') }) });
    const results = await Promise.all([send(), send()]);
    const ok = results.filter((r) => r.status === 200);
    const refused = results.filter((r) => r.status !== 200);
    assert.equal(ok.length, 1, results.map((r) => r.status).join(','));
    assert.equal(refused.length, 1);
    assertContractError(refused[0]!, 'engine_overloaded');
    // The slot is free again afterwards.
    assert.equal((await send()).status, 200);
  });
});

describe('embeddings', () => {
  const embed = (body: Record<string, unknown>) =>
    http(`${gw.baseURL}/embeddings`, { method: 'POST', key: gw.key, body: JSON.stringify({ model: 'test-embed', ...body }) });
  const norm = (v: number[]) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));

  test('deterministic, unit length, default dimensions', async () => {
    const a = await embed({ input: 'the quick brown fox', encoding_format: 'float' });
    assert.equal(a.status, 200, a.text);
    const v = a.body.data[0].embedding as number[];
    assert.equal(v.length, 768);
    assert.ok(Math.abs(norm(v) - 1) < 1e-9, `norm ${norm(v)}`);
    const again = await embed({ input: 'the quick brown fox', encoding_format: 'float' });
    assert.deepEqual(again.body.data[0].embedding, v);
    const other = await embed({ input: 'the lazy dog', encoding_format: 'float' });
    assert.notDeepEqual(other.body.data[0].embedding, v);
    assert.ok(a.body.usage.prompt_tokens > 0);
    assert.equal(a.body.model, 'test-embed');
  });

  test('dimensions is respected and several inputs keep their order', async () => {
    const r = await embed({ input: ['alpha', 'beta'], dimensions: 64, encoding_format: 'float' });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.data.length, 2);
    assert.deepEqual(r.body.data.map((d: { index: number }) => d.index), [0, 1]);
    for (const d of r.body.data as Array<{ embedding: number[] }>) {
      assert.equal(d.embedding.length, 64);
      assert.ok(Math.abs(norm(d.embedding) - 1) < 1e-9);
    }
    const alpha = await embed({ input: 'alpha', dimensions: 64, encoding_format: 'float' });
    assert.deepEqual(r.body.data[0].embedding, alpha.body.data[0].embedding);
  });

  test('base64 decodes to the same floats (float32)', async () => {
    const f = await embed({ input: 'encode me', dimensions: 32, encoding_format: 'float' });
    const b = await embed({ input: 'encode me', dimensions: 32, encoding_format: 'base64' });
    assert.equal(b.status, 200, b.text);
    const b64 = b.body.data[0].embedding;
    assert.equal(typeof b64, 'string');
    const buf = Buffer.from(b64 as string, 'base64');
    assert.equal(buf.length, 32 * 4);
    const decoded = Array.from(new Float32Array(buf.buffer, buf.byteOffset, 32));
    assert.deepEqual(decoded, (f.body.data[0].embedding as number[]).map((x) => Math.fround(x)));
  });

  test('the SDK (which asks for base64 and decodes it) gets the same vector', async () => {
    const f = await embed({ input: 'sdk vector', encoding_format: 'float' });
    const r = await gw.client().embeddings.create({ model: 'test-embed', input: 'sdk vector' });
    const v = r.data[0]!.embedding;
    const want = f.body.data[0].embedding as number[];
    assert.equal(v.length, want.length);
    for (let i = 0; i < v.length; i++) assert.ok(Math.abs(v[i]! - want[i]!) < 1e-6, `component ${i}`);
  });
});
