// The adaptive concurrency limit against a simulated engine and a fake clock. The engine answers in
// L0 while at most K requests are in it and in L0·c/K above (a saturated engine: throughput stays
// K/L0 and what waits adds latency). A closed loop keeps it fed: demand never runs out, and a
// request is admitted whenever fewer than `limit` are in flight. The limit must find K from below
// and from above, follow K down and back up, get over an engine that became slower for good, cut
// on drops, stay in its bounds, and not grow when it is not the bottleneck.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AdaptiveLimit, type AdaptiveLimitOptions } from '../src/admission/adaptive-limit.js';
import { mulberry32 } from '../src/sim/rng.js';

interface Request {
  start: number;
  end: number;
  latency: number;
  /** In flight when it started, itself included. */
  inflight: number;
}

/** In-flight requests, a min-heap by completion time. */
class InFlight {
  readonly #a: Request[] = [];
  get size(): number {
    return this.#a.length;
  }
  push(r: Request): void {
    const a = this.#a;
    a.push(r);
    for (let i = a.length - 1; i > 0; ) {
      const p = (i - 1) >> 1;
      if (a[p]!.end <= a[i]!.end) break;
      [a[p], a[i]] = [a[i]!, a[p]!];
      i = p;
    }
  }
  pop(): Request {
    const a = this.#a;
    const top = a[0]!;
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        let m = i;
        if (l < a.length && a[l]!.end < a[m]!.end) m = l;
        if (l + 1 < a.length && a[l + 1]!.end < a[m]!.end) m = l + 1;
        if (m === i) break;
        [a[m], a[i]] = [a[i]!, a[m]!];
        i = m;
      }
    }
    return top;
  }
}

const L0 = 100; // ms
const K = 40;
const PROBE_MS = 10_000;

/**
 * A gateway and one engine in a closed loop, driven by completions. Each latency is spread by
 * ±noise, uniformly (seeded: every run is the same). The engine's l0 and k can change mid-run.
 */
function loop(opts: Omit<AdaptiveLimitOptions, 'now'>, engine = { l0: L0, k: K }, noise = 0.2, seed = 7) {
  let now = 0;
  const rand = mulberry32(seed);
  const limit = new AdaptiveLimit({ probeIntervalMs: PROBE_MS, ...opts, now: () => now });
  const inflight = new InFlight();
  const admit = () => {
    while (inflight.size < limit.limit) {
      const c = inflight.size + 1;
      const latency = engine.l0 * Math.max(1, c / engine.k) * (1 + noise * (2 * rand() - 1));
      inflight.push({ start: now, end: now + latency, latency, inflight: c });
    }
  };
  /** One completion, reported to the limit; then the freed room is filled. */
  const step = () => {
    admit();
    const done = inflight.pop();
    now = done.end;
    limit.onSample(done.latency, done.inflight, false);
    admit();
  };
  return {
    limit,
    engine,
    get now() {
      return now;
    },
    /** n completions; each(limit) after every one. */
    run(n: number, each?: (l: AdaptiveLimit) => void) {
      for (let i = 0; i < n; i++) {
        step();
        each?.(limit);
      }
    },
    /** Completions for ms of simulated time; returns the limits seen outside probes (a probe pins
     *  the limit low on purpose, so it is not what the limit converged to). */
    steadyFor(ms: number): number[] {
      const seen: number[] = [];
      const until = now + ms;
      while (now < until) {
        step();
        if (!limit.probing) seen.push(limit.limit);
      }
      return seen;
    },
  };
}

/** Runs the loop until done(limit), failing after 100 000 samples. */
function runUntil(sim: ReturnType<typeof loop>, done: (l: AdaptiveLimit) => boolean, what: string) {
  for (let i = 0; i < 100_000; i++) {
    if (done(sim.limit)) return;
    sim.run(1);
  }
  assert.fail(`waited 100 000 samples for ${what}`);
}

function assertWithin(limits: number[], lo: number, hi: number, what: string) {
  assert.ok(limits.length > 0, `${what}: no limits seen outside probes`);
  const min = Math.min(...limits);
  const max = Math.max(...limits);
  assert.ok(min >= lo && max <= hi, `${what}: limit ranged ${min}..${max}, expected within ${lo}..${hi}`);
}

test('from a low start the limit grows to near the engine capacity and stays there', () => {
  const sim = loop({ min: 1, max: 1000, initial: 1 });
  let reached = -1;
  let samples = 0;
  sim.run(2000, (l) => {
    samples++;
    if (reached < 0 && !l.probing && l.limit >= K / 2) reached = samples;
  });
  assert.ok(reached > 0 && reached <= 500, `reached K/2 after ${reached} samples`);
  assertWithin(sim.steadyFor(60_000), K / 2, 2 * K, 'K = 40, L0 = 100 ms');
  assert.ok(Math.abs(sim.limit.baselineMs! - L0) <= 0.2 * L0, `baseline ${sim.limit.baselineMs}`);
});

test('from a high start the limit comes down to near the engine capacity', () => {
  const sim = loop({ min: 1, max: 1000, initial: 1000 });
  assert.equal(sim.limit.limit, 1000);
  // The first probe has to drain 1000 requests that each take 2.5 s; then the limit is set.
  sim.steadyFor(15_000);
  assertWithin(sim.steadyFor(60_000), K / 2, 2 * K, 'K = 40, started at 1000');
});

test('capacity halving: the limit follows it down within a few hundred samples, and back up', () => {
  const sim = loop({ min: 1, max: 1000, initial: 20 });
  sim.steadyFor(20_000);
  // Right after a probe, so that the gradient, not the next probe, has to find the change.
  runUntil(sim, (l) => l.probing, 'a probe');
  runUntil(sim, (l) => !l.probing, 'the probe to end');
  const before = sim.limit.limit;
  assert.ok(before > K, `converged at ${before}, above the new capacity's 2K`);

  sim.engine.k = K / 2;
  let down = -1;
  let samples = 0;
  sim.run(2000, (l) => {
    samples++;
    if (down < 0 && !l.probing && l.limit <= K) down = samples;
  });
  assert.ok(down > 0 && down <= 500, `at or below 2K' after ${down} samples`);
  const halved = sim.steadyFor(30_000);
  assertWithin(halved, K / 4, K, 'K = 20');

  sim.engine.k = K;
  let up = -1;
  samples = 0;
  sim.run(2000, (l) => {
    samples++;
    if (up < 0 && !l.probing && l.limit > Math.max(...halved)) up = samples;
  });
  assert.ok(up > 0 && up <= 500, `above the halved range after ${up} samples`);
  const recovered = sim.steadyFor(30_000);
  assertWithin(recovered, Math.max(...halved) + 1, 2 * K, 'K = 40 again');
});

test('an engine slower for good is re-measured at the next probe, not held at a low limit', () => {
  const sim = loop({ min: 1, max: 1000, initial: 20 });
  sim.steadyFor(20_000);
  runUntil(sim, (l) => l.probing, 'a probe');
  runUntil(sim, (l) => !l.probing, 'the probe to end'); // the next is a whole interval away
  const before = sim.limit.limit;
  // Twice as slow at any load, same capacity: latency at the old baseline looks like queueing
  // first, and the limit falls.
  sim.engine.l0 = 2 * L0;
  const slowed = sim.steadyFor(PROBE_MS / 2);
  assert.ok(Math.min(...slowed) < before / 2, `fell to ${Math.min(...slowed)} from ${before}`);
  // Within two probe intervals the baseline is the new one, and the limit is back near K.
  sim.steadyFor(2 * PROBE_MS);
  assert.ok(Math.abs(sim.limit.baselineMs! - 2 * L0) <= 0.2 * 2 * L0, `baseline ${sim.limit.baselineMs}`);
  assertWithin(sim.steadyFor(60_000), K / 2, 2 * K, 'slower engine');
});

test('held at its minimum while latency stays high, the limit re-measures the baseline early', () => {
  // No periodic probe in this run: only Envoy's rule (at the minimum for 5 windows) can probe.
  const sim = loop({ min: 10, max: 1000, initial: 20, probeIntervalMs: 1e12 });
  sim.steadyFor(20_000);
  assert.ok(Math.abs(sim.limit.baselineMs! - L0) <= 0.2 * L0);
  sim.engine.l0 = 4 * L0;
  sim.steadyFor(60_000);
  assert.ok(Math.abs(sim.limit.baselineMs! - 4 * L0) <= 0.2 * 4 * L0, `baseline ${sim.limit.baselineMs}`);
  assertWithin(sim.steadyFor(120_000), K / 2, 2 * K, '4× slower engine');
});

test('drops cut the limit multiplicatively, once per round trip', () => {
  let now = 1_000;
  const l = new AdaptiveLimit({ min: 5, max: 100, initial: 50, now: () => now });
  assert.equal(l.limit, 50);
  l.onSample(800, 50, true); // started at 200
  assert.equal(l.limit, 45, '50 × 0.9');
  now = 1_100;
  l.onSample(50, 45, true); // started at 1050, after the first cut
  assert.equal(l.limit, 40, '50 × 0.9² = 40.5');
  now = 1_200;
  l.onSample(500, 45, true); // started at 700, before the last cut: the same overload
  l.onSample(20, 45, true, 1_150); // startedAt given (latency alone would say 1180): after the last cut
  assert.equal(l.limit, 36, 'one more cut, not two: 50 × 0.9³ = 36.45');
  let expected = 50 * 0.9 ** 3;
  for (let i = 0; i < 30; i++) {
    now += 100;
    l.onSample(10, 10, true);
    expected = Math.max(5, expected * 0.9);
    assert.equal(l.limit, Math.floor(expected), `drop ${i + 4}`);
  }
  assert.equal(l.limit, 5, 'never below min');

  // In the loop: a drop at a converged limit takes a tenth off at once.
  const sim = loop({ min: 1, max: 1000, initial: 20 });
  sim.steadyFor(20_000);
  runUntil(sim, (l) => !l.probing, 'the probe to end');
  const before = sim.limit.limit;
  sim.limit.onSample(5_000, before, true, sim.now);
  assert.ok(sim.limit.limit <= Math.ceil(before * 0.9) && sim.limit.limit >= Math.floor(before * 0.9) - 1, `${before} → ${sim.limit.limit}`);
});

test('the limit is an integer within [min, max] whatever the samples', () => {
  const rand = mulberry32(42);
  let now = 0;
  const l = new AdaptiveLimit({ min: 3, max: 50, initial: 20, probeIntervalMs: 5_000, now: () => now });
  for (let i = 0; i < 50_000; i++) {
    now += rand() * 300;
    const latency = rand() < 0.01 ? NaN : Math.exp(rand() * Math.log(10_000));
    const inflight = Math.floor(rand() * 80);
    const dropped = rand() < 0.05;
    if (rand() < 0.2) l.onSample(latency, inflight, dropped, now - rand() * 5_000);
    else l.onSample(latency, inflight, dropped);
    assert.ok(Number.isInteger(l.limit) && l.limit >= 3 && l.limit <= 50, `sample ${i}: limit ${l.limit}`);
  }

  // An engine far bigger than max: the limit sits at max, never above.
  const big = loop({ min: 2, max: 50, initial: 2 }, { l0: L0, k: 5_000 });
  big.run(20_000, (x) => assert.ok(x.limit >= 2 && x.limit <= 50));
  assert.deepEqual([...new Set(big.steadyFor(30_000))], [50]);
  // An engine far smaller than min: the limit never goes under min.
  const small = loop({ min: 8, max: 50, initial: 50 }, { l0: L0, k: 1 });
  small.run(20_000, (x) => assert.ok(x.limit >= 8 && x.limit <= 50, `limit ${x.limit}`));
});

test('a limit that is not the bottleneck (in flight far below it) does not grow', () => {
  const run = (inflight: (limit: number) => number) => {
    let now = 0;
    const l = new AdaptiveLimit({ min: 1, max: 1000, initial: 20, now: () => now });
    let highest = 0;
    for (let i = 0; i < 5_000; i++) {
      now += 50;
      l.onSample(L0, Math.min(l.limit, inflight(l.limit)), false); // no-load latency: no reason to shrink
      if (!l.probing) highest = Math.max(highest, l.limit);
    }
    return highest;
  };
  assert.equal(run(() => 2), 20, '2 in flight under a limit of 20');
  // The control: the same samples with the limit in use do grow it.
  assert.ok(run((limit) => limit) >= 100, 'in flight at the limit');
});

test('options out of range are refused', () => {
  assert.throws(() => new AdaptiveLimit({ min: 0, max: 10 }), RangeError);
  assert.throws(() => new AdaptiveLimit({ min: 5, max: 4 }), RangeError);
  assert.throws(() => new AdaptiveLimit({ min: 1.5, max: 4 }), RangeError);
  assert.throws(() => new AdaptiveLimit({ min: 1, max: 10, tolerance: 0.9 }), RangeError);
  assert.throws(() => new AdaptiveLimit({ min: 1, max: 10, backoff: 1 }), RangeError);
  assert.throws(() => new AdaptiveLimit({ min: 1, max: 10, probeFraction: 1 }), RangeError);
  assert.equal(new AdaptiveLimit({ min: 1, max: 10 }).limit, 10, 'default initial 20, clamped to max');
  assert.equal(new AdaptiveLimit({ min: 30, max: 100 }).limit, 30, 'default initial 20, clamped to min');
  assert.equal(new AdaptiveLimit({ min: 1, max: 100 }).limit, 20);
});
