// The simulator slows down under load as a GPU does: one engine clock per SimCore runs the batch
// in steps whose time grows with the batch past a knee, so total throughput rises with
// concurrency and then flattens while each request's inter-token latency rises; a prefill stalls
// the sequences decoding beside it; and `sluice sim` serves vLLM's load gauges on /metrics.
// Assertions are ratios, not absolute times, so a loaded machine does not flip them.
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { simSettingsSchema, type SimSettings } from '../src/config/schema.js';
import { decodeStepMs } from '../src/sim/batch.js';
import { SimCore, type GenerationPlan } from '../src/sim/sim-core.js';
import { startSimServer, type SimServer } from '../src/sim/sim-server.js';

function core(settings: Partial<SimSettings>): SimCore {
  return new SimCore(simSettingsSchema.parse(settings));
}

const user = (content: string) => [{ role: 'user' as const, content }];

/** Streams one request on the core; returns the times its tokens arrived (ms since t0). */
async function streamTimes(sim: SimCore, planOrPrompt: GenerationPlan | string, t0: number): Promise<number[]> {
  const plan = typeof planOrPrompt === 'string' ? await sim.plan('chat', { model: 'x', messages: user(planOrPrompt) }) : planOrPrompt;
  const times: number[] = [];
  for await (const chunk of sim.stream(plan, new AbortController().signal, false)) {
    const delta = (chunk.choices as Array<{ delta?: { content?: string } }>)[0]?.delta;
    if (delta?.content) times.push(performance.now() - t0);
  }
  return times;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

describe('the load model', () => {
  test('step time: flat below the knee, linear above; the defaults keep itlMs at batch 1', () => {
    const d = simSettingsSchema.parse({});
    assert.deepEqual(d.load, { kneeSeqs: 32, stepGrowth: 0.01 });
    assert.equal(decodeStepMs(d, 0), 0);
    assert.equal(decodeStepMs(d, 1), d.itlMs);
    // Memory-bound: 16 sequences cost barely more than one.
    assert.ok(decodeStepMs(d, 16) / decodeStepMs(d, 1) < 1.2);
    // Compute-bound: doubling a large batch doubles the step.
    assert.ok(Math.abs(decodeStepMs(d, 256) / decodeStepMs(d, 128) - 2) < 1e-9);
    // Throughput b / step(b) rises, then flattens at kneeSeqs / itlMs.
    const tput = (b: number) => b / decodeStepMs(d, b);
    assert.ok(tput(16) > 10 * tput(1));
    assert.ok(tput(512) / tput(128) < 1.01);
    assert.ok(Math.abs(tput(512) - d.load.kneeSeqs / d.itlMs) < 1e-9);
  });

  test('throughput rises from 1 to 4 concurrent streams and flattens from 4 to 16; per-request ITL rises', async () => {
    const TOKENS = 30;
    const sim = core({ ttftMs: 0, itlMs: 5, prefillMsPerToken: 0, load: { kneeSeqs: 4, stepGrowth: 0 }, maxNumSeqs: 64, outputTokens: { min: TOKENS, max: TOKENS } });
    const run = async (concurrency: number) => {
      // Planned first (token counting is not the engine's time), then streamed all at once.
      const plans = await Promise.all(Array.from({ length: concurrency }, (_, i) => sim.plan('chat', { model: 'x', messages: user(`request ${i} of ${concurrency}`) })));
      const t0 = performance.now();
      const all = await Promise.all(plans.map((plan) => streamTimes(sim, plan, t0)));
      const elapsed = performance.now() - t0;
      const tokens = all.reduce((a, t) => a + t.length, 0);
      const gaps = all.flatMap((t) => t.slice(1).map((x, i) => x - t[i]!));
      return { tokensPerS: (tokens / elapsed) * 1000, itl: median(gaps), tokens };
    };
    const one = await run(1);
    const four = await run(4);
    const sixteen = await run(16);
    const report = JSON.stringify({ one, four, sixteen });
    assert.equal(sixteen.tokens, 16 * TOKENS);
    assert.ok(four.tokensPerS > 2.5 * one.tokensPerS, `throughput rises from 1 to 4: ${report}`);
    assert.ok(sixteen.tokensPerS <= 1.5 * four.tokensPerS, `and flattens from 4 to 16: ${report}`);
    assert.ok(sixteen.tokensPerS >= 0.7 * four.tokensPerS, `without collapsing: ${report}`);
    assert.ok(sixteen.itl >= 2 * one.itl, `per-request inter-token latency rises: ${report}`);
    assert.equal(sim.batch.size, 0, 'every stream left the batch');
  });

  test('a long prompt arriving while others stream stalls their next token by its prefill', async () => {
    const sim = core({ ttftMs: 0, itlMs: 5, prefillMsPerToken: 0.5, load: { kneeSeqs: 32, stepGrowth: 0 }, outputTokens: { min: 60, max: 60 } });
    const t0 = performance.now();
    // Two short-prompt streams decode alongside each other.
    const running = [streamTimes(sim, 'a', t0), streamTimes(sim, 'b', t0)];
    await sleep(60);
    const arrive = performance.now() - t0;
    const longPlan = await sim.plan('chat', { model: 'x', messages: user('word '.repeat(400)), max_tokens: 2 });
    assert.ok(longPlan.usage.prompt_tokens > 390);
    const prefillMs = 0.5 * longPlan.usage.prompt_tokens; // ~200 ms
    const long = (async () => {
      const it = sim.stream(longPlan, new AbortController().signal, false);
      await it.next();
      const first = performance.now() - t0;
      for (let r = await it.next(); !r.done; r = await it.next()) { /* drain */ }
      return first;
    })();
    const [a, b] = await Promise.all(running);
    const firstChunk = await long;
    for (const times of [a!, b!]) {
      const gaps = times.slice(1).map((x, i) => ({ at: times[i]!, gap: x - times[i]! }));
      const stall = gaps.reduce((m, g) => (g.gap > m.gap ? g : m));
      const usual = median(gaps.map((g) => g.gap));
      assert.ok(stall.gap >= prefillMs * 0.9, `a gap as long as the prefill (${prefillMs} ms): ${stall.gap} ms`);
      assert.ok(stall.gap > 10 * usual, `the stall stands out: ${stall.gap} vs ${usual} ms`);
      assert.ok(stall.at >= arrive - 10 && stall.at <= arrive + 20, `it began when the long prompt arrived (${arrive} ms): ${stall.at} ms`);
    }
    // The long prompt's own first token came with the end of the stall.
    assert.ok(firstChunk - arrive >= prefillMs * 0.9, `long prompt's first chunk after ${firstChunk - arrive} ms`);
    assert.equal(sim.batch.size, 0);
  });

  test('a stream whose consumer stops reading sits out of the batch; a cancelled one leaves it at once', async () => {
    const sim = core({ ttftMs: 0, itlMs: 2, prefillMsPerToken: 0, outputTokens: { min: 200, max: 200 } });
    const plan = await sim.plan('chat', { model: 'x', messages: user('paused') });
    const ac = new AbortController();
    const it = sim.stream(plan, ac.signal, false);
    await it.next();
    await it.next();
    const stepsBefore = sim.batch.steps;
    await sleep(50);
    // At most one step ran ahead of the consumer; then the engine idles.
    assert.ok(sim.batch.steps - stepsBefore <= 1, `steps while paused: ${sim.batch.steps - stepsBefore}`);
    assert.equal(sim.batch.size, 1);
    // Reading again resumes it.
    for (let i = 0; i < 5; i++) await it.next();
    assert.ok(sim.batch.steps - stepsBefore >= 4);
    const pending = it.next();
    ac.abort(new Error('client left'));
    await assert.rejects(pending, { name: 'AbortError' });
    assert.equal(sim.batch.size, 0, 'the cancelled stream left the batch');
    assert.equal(sim.load().cacheUsage, 0);
  });

  test('load(): running and waiting follow the scheduler, cacheUsage the batch\'s tokens', async () => {
    const sim = core({ ttftMs: 0, itlMs: 5, prefillMsPerToken: 0, maxNumSeqs: 1, kvCacheTokens: 1000, outputTokens: { min: 40, max: 40 } });
    assert.deepEqual(sim.load(), { running: 0, waiting: 0, cacheUsage: 0 });
    const plan = await sim.plan('chat', { model: 'x', messages: user('word '.repeat(100)) });
    const run = async () => {
      const signal = new AbortController().signal;
      const release = await sim.admit(signal);
      try {
        await sim.complete(plan, signal);
      } finally {
        release();
      }
    };
    const both = Promise.all([run(), run()]);
    await sleep(60);
    const mid = sim.load();
    assert.equal(mid.running, 1);
    assert.equal(mid.waiting, 1);
    // The prompt plus the ~10 tokens generated so far, of 1000.
    assert.ok(mid.cacheUsage > plan.usage.prompt_tokens / 1000 && mid.cacheUsage < (plan.usage.prompt_tokens + 40) / 1000, `cacheUsage ${mid.cacheUsage}`);
    await both;
    assert.deepEqual(sim.load(), { running: 0, waiting: 0, cacheUsage: 0 });
  });
});

describe('sluice sim: GET /metrics', () => {
  let sim: SimServer;
  after(async () => {
    await sim?.close();
  });

  const gauges = async () => {
    const res = await fetch(`${sim.url.replace(/\/v1$/, '')}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
    const text = await res.text();
    const value = (name: string) => {
      const m = new RegExp(`^${name}\\{model_name="sim"\\} (\\S+)$`, 'm').exec(text);
      assert.ok(m, `${name} in\n${text}`);
      return Number(m[1]);
    };
    for (const name of ['vllm:num_requests_running', 'vllm:num_requests_waiting', 'vllm:gpu_cache_usage_perc']) {
      assert.match(text, new RegExp(`^# TYPE ${name} gauge$`, 'm'));
    }
    return { running: value('vllm:num_requests_running'), waiting: value('vllm:num_requests_waiting'), cache: value('vllm:gpu_cache_usage_perc'), kv: value('vllm:kv_cache_usage_perc') };
  };

  test('the vLLM gauges follow a burst and return to 0', async () => {
    sim = await startSimServer({ settings: { ttftMs: 1, itlMs: 10, maxNumSeqs: 2, kvCacheTokens: 2000, outputTokens: { min: 10, max: 10 } } });
    assert.deepEqual(await gauges(), { running: 0, waiting: 0, cache: 0, kv: 0 });
    const send = (i: number) => fetch(`${sim.url}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'any', messages: user(`burst ${i}`), stream: i % 2 === 0 }),
    }).then(async (r) => {
      await r.text();
      return r.status;
    });
    const burst = Promise.all([0, 1, 2, 3, 4, 5].map(send));
    let seen = { running: 0, waiting: 0, cache: 0, kv: 0 };
    for (let i = 0; i < 200 && (seen.waiting === 0 || seen.cache === 0); i++) {
      seen = await gauges();
      if (seen.waiting === 0 || seen.cache === 0) await sleep(5);
    }
    assert.equal(seen.running, 2, JSON.stringify(seen));
    assert.ok(seen.waiting > 0, JSON.stringify(seen));
    assert.ok(seen.cache > 0 && seen.cache < 1, JSON.stringify(seen));
    assert.equal(seen.kv, seen.cache);
    assert.deepEqual(await burst, [200, 200, 200, 200, 200, 200]);
    assert.deepEqual(await gauges(), { running: 0, waiting: 0, cache: 0, kv: 0 });
  });
});
