// The simulator's prefix cache, as vLLM's: prompts cut into blocks whose hashes chain, so a block
// hits only when everything before it is cached; a bounded LRU of blocks; prefill time only for
// what missed; vLLM's counters on /metrics. Unit tests of the hashing and the cache, then the
// standalone server end to end: timings are asserted as wide ratios, so a loaded machine cannot
// flip them.
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { simSettingsSchema } from '../src/config/schema.js';
import { blockHashes } from '../src/sim/block-hash.js';
import { PrefixCache, prefixCacheOf, type PromptBlocks } from '../src/sim/prefix-cache.js';
import { tokenizePrompt } from '../src/sim/prompt-blocks.js';
import { SimCore } from '../src/sim/sim-core.js';
import { startSimServer, type SimServer } from '../src/sim/sim-server.js';
import { parseSimFlags } from '../src/cli/sim-command.js';
import { countText } from '../src/tokenize/bounded-count.js';
import { countPrompts, promptsOf, sum } from '../src/tokenize/prompt.js';
import { mulberry32 } from '../src/sim/rng.js';

const B = 16;

/** `n` token ids drawn from a seed: different seeds, different prompts. */
function ids(n: number, seed: number): number[] {
  const next = mulberry32(seed);
  return Array.from({ length: n }, () => Math.floor(next() * 100_000));
}

const prompt = (xs: number[]): PromptBlocks => ({ tokens: xs.length, blocks: blockHashes(xs, B) });

/** Looks a prompt up and registers it, as the engine clock does when its prefill runs. */
function prefill(cache: PrefixCache, p: PromptBlocks): number {
  const hit = cache.lookup(p);
  cache.insert(p);
  return hit;
}

describe('block hashes', () => {
  test('a block\'s hash covers everything before it: a change in block k changes k and every block after', () => {
    const a = ids(10 * B, 1);
    const b = [...a];
    b[3 * B + 5] = a[3 * B + 5]! + 1; // one token of block 3
    const ha = blockHashes(a, B);
    const hb = blockHashes(b, B);
    assert.equal(ha.length, 10);
    assert.deepEqual(hb.slice(0, 3), ha.slice(0, 3), 'the blocks before the change are the same blocks');
    for (let k = 3; k < 10; k++) assert.notEqual(hb[k], ha[k], `block ${k} differs`);
    // Blocks 4… hold the same tokens in both, yet differ: their history does.
    assert.deepEqual(b.slice(4 * B), a.slice(4 * B));
  });

  test('only full blocks are hashed; a longer prompt extends the same chain', () => {
    const a = ids(3 * B + 7, 2);
    assert.equal(blockHashes(a, B).length, 3, 'the partial block at the end has no hash');
    const longer = [...a, ...ids(2 * B, 3)];
    assert.deepEqual(blockHashes(longer, B).slice(0, 3), blockHashes(a, B));
    assert.notDeepEqual(blockHashes(ids(3 * B, 4), B), blockHashes(ids(3 * B, 5), B));
  });
});

describe('the block cache', () => {
  test('a shared prefix hits on its full blocks only; a change in block k misses k and after', () => {
    const cache = new PrefixCache(B, 1000);
    const shared = ids(5 * B + 9, 10); // 5 full blocks, then 9 tokens of a sixth
    assert.equal(prefill(cache, prompt([...shared, ...ids(4 * B, 11)])), 0, 'a cold cache misses');
    assert.equal(prefill(cache, prompt([...shared, ...ids(4 * B, 12)])), 5 * B, 'the 5 shared full blocks hit; the sixth differs within');
    const changed = [...shared, ...ids(4 * B, 11)];
    changed[2 * B] = -1; // first token of block 2
    assert.equal(prefill(cache, prompt(changed)), 2 * B, 'blocks 0 and 1 hit; 2 and every block after miss, though their tokens were seen');
    assert.deepEqual({ queries: cache.stats().queries, hits: cache.stats().hits }, { queries: 3 * (9 * B + 9), hits: 7 * B }, 'counters in tokens');
  });

  test('a hit never covers the last token, whose logits must be computed (vLLM recomputes its block)', () => {
    const cache = new PrefixCache(B, 1000);
    const exact = prompt(ids(4 * B, 20));
    prefill(cache, exact);
    assert.equal(cache.lookup(exact), 3 * B);
    const oneMore = prompt([...ids(4 * B, 20), 7]);
    assert.equal(cache.lookup(oneMore), 4 * B);
  });

  test('the partial last block is never cached', () => {
    const cache = new PrefixCache(B, 1000);
    const a = ids(2 * B + 8, 30);
    prefill(cache, prompt(a));
    assert.equal(cache.stats().blocks, 2);
    // The same 40 tokens and more: only the two full blocks were kept.
    assert.equal(cache.lookup(prompt([...a, ...ids(3 * B, 31)])), 2 * B);
  });

  test('LRU: at maxBlocks the least recently used go first; a prompt longer than the cache keeps its head', () => {
    const cache = new PrefixCache(B, 4);
    const [a, b, c] = [prompt(ids(2 * B + 1, 40)), prompt(ids(2 * B + 1, 41)), prompt(ids(2 * B + 1, 42))];
    prefill(cache, a);
    prefill(cache, b);
    assert.equal(prefill(cache, a), 2 * B, 'a hits, and is used again: b is now the oldest');
    prefill(cache, c);
    assert.equal(cache.stats().blocks, 4);
    assert.equal(cache.lookup(b), 0, 'b was evicted');
    assert.equal(cache.lookup(a), 2 * B);
    assert.equal(cache.lookup(c), 2 * B);
    const long = prompt(ids(10 * B + 1, 43));
    prefill(cache, long);
    assert.equal(cache.lookup(long), 4 * B, 'its first 4 blocks stayed, the tail went first');
  });

  test('maxBlocks defaults to the KV cache in blocks; 0 turns the cache off', () => {
    const d = simSettingsSchema.parse({});
    assert.deepEqual(d.prefixCache, { blockTokens: 16 });
    assert.equal(prefixCacheOf(d)!.maxBlocks, d.kvCacheTokens / 16);
    assert.equal(prefixCacheOf(simSettingsSchema.parse({ kvCacheTokens: 1000, prefixCache: { blockTokens: 32 } }))!.maxBlocks, 31);
    assert.equal(prefixCacheOf(simSettingsSchema.parse({ prefixCache: { maxBlocks: 0 } })), undefined);
  });

  test('the default prefill cost is an 8B model\'s on one GPU: tens of µs a prompt token', () => {
    const { prefillMsPerToken } = simSettingsSchema.parse({});
    assert.ok(prefillMsPerToken >= 0.01 && prefillMsPerToken < 0.1, String(prefillMsPerToken));
  });
});

describe('tokenizing for the cache', () => {
  test('one pass gives the gateway\'s exact count, on hostile shapes too, and a hash per full block', () => {
    const next = mulberry32(5);
    const words = Array.from({ length: 30_000 }, () => ['the', 'Quick', '数字', '😀', '3.14', '{"a":1}', 'naïve'][Math.floor(next() * 7)]).join(' ');
    const shapes = {
      'ordinary, segmented': words,
      'one long word': 'a'.repeat(50_000),
      'CJK without punctuation': '中文字符测试'.repeat(5_000),
      'newlines after punctuation (forced cuts)': '!\n'.repeat(40_000),
      'emoji': '😀🎉'.repeat(10_000),
      'special token as text': 'x <|endoftext|> y',
    };
    for (const [name, text] of Object.entries(shapes)) {
      const r = tokenizePrompt([text], B);
      assert.equal(r.textTokens, countText(text), name);
      assert.equal(r.blocks.length, Math.floor(r.textTokens / B), name);
    }
  });

  test('the simulator\'s prompt_tokens are the gateway\'s count, whatever the request holds', async () => {
    const sim = new SimCore(simSettingsSchema.parse({ ttftMs: 0 }));
    const tools = [{ type: 'function', function: { name: 'lookup', description: 'Find a thing.', parameters: { type: 'object', properties: { q: { type: 'string' } } } } }];
    const chat = {
      model: 'x',
      tools,
      messages: [
        { role: 'system', content: 'You are terse.' },
        { role: 'user', name: 'ann', content: [{ type: 'text', text: 'Find ' }, { type: 'text', text: 'the cat.' }] },
        { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'lookup', arguments: '{"q":"cat"}' } }] },
        { role: 'tool', tool_call_id: 'call_1', content: 'On the mat.' },
      ],
    };
    const completions = { model: 'x', prompt: ['one prompt', [1, 2, 3, 4]], suffix: ' and a suffix' };
    for (const [endpoint, body] of [['chat', chat], ['completions', completions]] as const) {
      const plan = await sim.plan(endpoint, body);
      assert.equal(plan.usage.prompt_tokens, sum(await countPrompts(promptsOf(body, endpoint))), endpoint);
    }
  });

  test('a 1 MB prompt is tokenized off the event loop', async () => {
    const sim = new SimCore(simSettingsSchema.parse({}));
    await sim.plan('chat', { model: 'x', messages: [{ role: 'user', content: 'warm the thread up' }] });
    const text = '中文字符测试'.repeat(170_000); // ~0.3 s of BPE here
    let longest = 0;
    let last = performance.now();
    const ticker = setInterval(() => {
      const now = performance.now();
      longest = Math.max(longest, now - last);
      last = now;
    }, 2);
    const t0 = performance.now();
    const plan = await sim.plan('chat', { model: 'x', messages: [{ role: 'user', content: text }] });
    const took = performance.now() - t0;
    clearInterval(ticker);
    assert.ok(plan.usage.prompt_tokens > 500_000);
    assert.ok(longest < Math.max(60, took / 3), `the loop stalled ${longest.toFixed(0)} ms of ${took.toFixed(0)} ms`);
  });
});

describe('over the standalone server', () => {
  let sim: SimServer;
  after(() => sim?.close());

  const metrics = async () => {
    const text = await (await fetch(sim.url.replace(/\/v1$/, '/metrics'))).text();
    const value = (name: string) => {
      const m = new RegExp(`^${name}\\{[^}]*\\} (\\S+)$`, 'm').exec(text);
      assert.ok(m, `${name} in\n${text}`);
      return Number(m[1]);
    };
    assert.match(text, /^# TYPE vllm:prefix_cache_queries_total counter$/m);
    assert.match(text, /^# TYPE vllm:prefix_cache_hits_total counter$/m);
    return { queries: value('vllm:prefix_cache_queries_total'), hits: value('vllm:prefix_cache_hits_total'), rate: value('vllm:gpu_prefix_cache_hit_rate') };
  };

  /** Streams one request; its time to first token and its prompt_tokens. */
  async function send(path: 'chat/completions' | 'completions', body: Record<string, unknown>): Promise<{ ttft: number; promptTokens: number }> {
    const t0 = performance.now();
    const res = await fetch(`${sim.url}/${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'any', max_tokens: 2, stream: true, stream_options: { include_usage: true }, ...body }),
    });
    assert.equal(res.status, 200);
    const reader = res.body!.getReader();
    let ttft: number | undefined;
    let text = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      ttft ??= performance.now() - t0;
      text += Buffer.from(value).toString('utf8');
    }
    const usage = text.split('\n').filter((l) => l.includes('"usage"')).map((l) => JSON.parse(l.slice('data: '.length)) as { usage: { prompt_tokens: number } }).at(-1)!.usage;
    return { ttft: ttft!, promptTokens: usage.prompt_tokens };
  }

  test('the same long prompt again: its prefill is all but skipped, and the counters say so', async () => {
    sim = await startSimServer({ settings: { ttftMs: 0, itlMs: 1, prefillMsPerToken: 0.5 } });
    const content = Array.from({ length: 1000 }, (_, i) => `w${i % 89}`).join(' '); // ~2,000 tokens: ~1 s of prefill
    const first = await send('chat/completions', { messages: [{ role: 'user', content }] });
    const m1 = await metrics();
    assert.deepEqual(m1, { queries: first.promptTokens, hits: 0, rate: 0 });
    const second = await send('chat/completions', { messages: [{ role: 'user', content }] });
    const m2 = await metrics();
    assert.ok(first.promptTokens > 1900, String(first.promptTokens));
    assert.ok(first.ttft >= 0.5 * 0.9 * first.promptTokens, `first: ${first.ttft.toFixed(0)} ms for ${first.promptTokens} tokens`);
    assert.ok(second.ttft < first.ttft / 4, `second: ${second.ttft.toFixed(0)} ms against ${first.ttft.toFixed(0)} ms`);
    const cached = Math.floor((second.promptTokens - 1) / B) * B;
    assert.deepEqual(m2, { queries: m1.queries + second.promptTokens, hits: cached, rate: cached / (m1.queries + second.promptTokens) });
  });

  test('a prompt sharing a long prefix with an earlier one hits on the shared full blocks only', async () => {
    const before = await metrics();
    const shared = ids(1000, 50); // 62 full blocks and 8 tokens
    const a = await send('completions', { prompt: [...shared, ...ids(500, 51)] });
    const b = await send('completions', { prompt: [...shared, ...ids(500, 52)] });
    const after = await metrics();
    assert.equal(after.queries - before.queries, 1500 + 1500);
    assert.equal(after.hits - before.hits, 62 * B, 'a hit nothing, b the 992 shared tokens in full blocks');
    // b computes 508 tokens (~254 ms), a all 1,500 (~750 ms).
    assert.ok(b.ttft < a.ttft * 0.6, `b: ${b.ttft.toFixed(0)} ms, a: ${a.ttft.toFixed(0)} ms`);
  });

  test('a conversation\'s next turn hits on every full block of the turn before', async () => {
    const system = { role: 'system', content: 'You answer questions about the weather in one short sentence. '.repeat(20) };
    const turn1 = [system, { role: 'user', content: 'Will it rain in Lyon tomorrow?' }];
    const before = await metrics();
    const one = await send('chat/completions', { messages: turn1 });
    const mid = await metrics();
    const turn2 = [...turn1, { role: 'assistant', content: 'Probably, in the afternoon.' }, { role: 'user', content: 'And in Nice?' }];
    const two = await send('chat/completions', { messages: turn2 });
    const end = await metrics();
    assert.equal(mid.hits - before.hits, 0);
    assert.equal(end.hits - mid.hits, Math.floor(one.promptTokens / B) * B);
    assert.equal(end.queries - mid.queries, two.promptTokens);
  });
});

test('sluice sim --block-tokens and --prefix-cache-blocks reach the simulator', async () => {
  assert.deepEqual(parseSimFlags({ port: '0', host: '127.0.0.1', faultHeader: false, blockTokens: 32, prefixCacheBlocks: 0 }), { settings: simSettingsSchema.parse({ prefixCache: { blockTokens: 32, maxBlocks: 0 } }) });
  const bad = parseSimFlags({ port: '0', host: '127.0.0.1', faultHeader: false, blockTokens: 0 });
  assert.equal('flag' in bad && bad.flag, '--block-tokens');
  const cli = new URL('../src/cli/main.js', import.meta.url).pathname;
  // 32-token blocks, one block kept: a 90-token prompt keeps only its head block.
  const child = spawn(process.execPath, [cli, 'sim', '--port', '0', '--block-tokens', '32', '--prefix-cache-blocks', '1', '--prefill-ms-per-token', '0', '--ttft-ms', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    let out = '';
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`sim did not start:\n${out}`)), 10_000);
      child.stdout!.on('data', (d) => {
        out += d;
        const m = /listening on (http:\/\/\S+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      });
      child.once('exit', (code) => reject(new Error(`sim exited ${code}:\n${out}`)));
    });
    const body = JSON.stringify({ model: 'any', prompt: ids(90, 60), max_tokens: 1 });
    for (let i = 0; i < 2; i++) {
      const r = await fetch(`${url}/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      assert.equal(r.status, 200);
      await r.text();
    }
    const text = await (await fetch(url.replace(/\/v1$/, '/metrics'))).text();
    assert.match(text, /^vllm:prefix_cache_queries_total\{[^}]*\} 180$/m);
    // With 16-token blocks and room for all of them it would be 80; with 32 and room for all, 64.
    assert.match(text, /^vllm:prefix_cache_hits_total\{[^}]*\} 32$/m);
  } finally {
    child.kill('SIGKILL');
  }
});
