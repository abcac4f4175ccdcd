// An adaptive concurrency limit for one engine deployment (issue 12, item 2): how many requests
// the gateway lets into the engine at once, moved by the latency the engine shows, so that an
// engine that slows down receives less before anything times out.
//
// The scheme is the gradient controller of Envoy's adaptive concurrency filter, with the
// app-limited rule of Netflix's Gradient2Limit and the drop rule of its AIMDLimit:
//
//  * Baseline. The engine's latency when it is not queueing (Envoy's minRTT) is measured by a
//    probe that pins the limit low and averages the latency of requests admitted under the pin. A
//    probe runs at start, every probeIntervalMs, and early when the limit has sat at its minimum
//    for 5 windows in a row (Envoy's rule). Because the baseline is re-measured rather than derived
//    from loaded latency, an engine that became slower for good is re-baselined at the next probe
//    instead of pinning the limit low forever, and queueing latency never leaks into it. A
//    long-term average slowly following the observed latency (Gradient2's longRtt) is simpler, but
//    under sustained queueing it drifts up and the limit ratchets up with it.
//    Envoy pins to a fixed 3 requests. An LLM engine batches, and its latency at 3 is not what it
//    shows at a healthy load, so here the probe pins the limit to half of itself, then to half of
//    that level's load, and so on while latency still changes by more than the tolerance between
//    two levels: it stops at the knee of the engine's latency curve, not at an idle engine, and a
//    level measured while traffic was still ramping up (latency rising as the level falls) is not
//    taken for the answer. The levels above the knee say where the limit belongs, too (the
//    gradient rule applied to them), which brings a limit far too high straight down.
//  * Gradient. Samples are aggregated in windows; at the end of each, gradient =
//    tolerance × baseline / window latency, clamped to [0.5, 2] (Envoy's clamp), and
//    new limit = limit × gradient + √limit (Envoy's headroom, which keeps looking for capacity),
//    approached by `smoothing`. Latency near the baseline grows the limit geometrically; latency
//    well above it shrinks it in proportion. For an engine whose latency is L0 up to K concurrent
//    requests and L0·c/K above, the fixed point is c = tolerance·K + √c.
//  * One window per round trip. A window takes only requests that started after it opened, and
//    as many as the limit (a round trip's worth), so every decision judges the limit it set
//    itself, as TCP Vegas adjusts once per RTT; reacting to samples admitted under an older limit
//    overshoots. Taking fewer than a round trip's worth would also favour the fastest requests,
//    which finish first.
//  * Latency of a window or probe level is the geometric mean of its samples: O(1) per sample
//    like a mean, but one pathological request moves it far less (LLM latencies are heavy-tailed).
//  * Not the bottleneck, no growth (Gradient2): if no request in the window started with at least
//    `utilization` × limit in flight, the limit was not what held traffic back, so it does not grow
//    (it can still shrink).
//  * Drops (timeouts, 503 from the engine) cut the limit by `backoff` at once (AIMDLimit), at most
//    once per round trip: a drop from a request that started before the previous cut is the same
//    overload already answered (TCP's one reduction per window); otherwise a burst of timeouts
//    would collapse the limit to its minimum.
//
// Pure: no timers, no I/O, O(1) per sample; driven by onSample and the injected clock.

export interface AdaptiveLimitOptions {
  /** Never below (an integer ≥ 1). */
  min: number;
  /** Never above (an integer ≥ min). */
  max: number;
  /** The limit at start. Default min(max, max(min, 20)). */
  initial?: number;
  /** Clock, ms; injectable for tests. Default Date.now. */
  now?: () => number;
  /** Latency up to tolerance × baseline counts as unloaded: the gradient is 1 there. ≥ 1, default
   *  1.25 (Envoy's 25% buffer on minRTT). Larger lets the engine queue more, for throughput. */
  tolerance?: number;
  /** The share of the way the limit moves to each window's computed value, (0, 1]; default 0.5.
   *  With the gradient's floor of 0.5, one window cuts the limit by at most a quarter. */
  smoothing?: number;
  /** Multiplier on a drop, (0, 1); default 0.9 (Netflix AIMDLimit's backoffRatio). */
  backoff?: number;
  /** The limit grows only if some request in the window started with at least this share of the
   *  limit in flight, [0, 1]; default 0.5 (Gradient2's app-limited test). */
  utilization?: number;
  /** The fewest samples a window or probe level aggregates (it takes max(minSamples, limit)).
   *  Integer ≥ 1, default 5: a small limit still decides on more than one or two requests. */
  minSamples?: number;
  /** Time between baseline probes, ms; default 60 000 (Envoy's interval is of that order). Keep it
   *  well above the latency measured: a probe lowers the limit for a few round trips. */
  probeIntervalMs?: number;
  /** A probe's first level is this share of the limit, each next one this share of the load the
   *  level before really had, (0, 1); default 0.5. */
  probeFraction?: number;
}

const MIN_GRADIENT = 0.5;
const MAX_GRADIENT = 2;
/** Windows in a row at the minimum limit, latency still high, that trigger an early probe (Envoy). */
const STUCK_WINDOWS = 5;

export class AdaptiveLimit {
  readonly #min: number;
  readonly #max: number;
  readonly #now: () => number;
  readonly #tolerance: number;
  readonly #smoothing: number;
  readonly #backoff: number;
  readonly #utilization: number;
  readonly #minSamples: number;
  readonly #probeIntervalMs: number;
  readonly #probeFraction: number;

  /** The limit before rounding down, in [min, max]. */
  #estimate: number;
  /** No-load latency, ms; undefined until the first probe ends. */
  #baseline: number | undefined;
  /** When the last drop cut the limit; drops of requests started before then are ignored. */
  #lastCutAt = -Infinity;

  // What is being measured now, a window (steady) or a probe level (probing): requests started at
  // or after #since. Latency is kept as a sum of logarithms (a geometric mean).
  #since: number;
  #count = 0;
  #sumLog = 0;
  #maxInflight = 0;
  #sumInflight = 0;

  #windowsAtMin = 0;

  #probing = true;
  #probeLevel: number;
  /** Latency at the level above the current one (undefined at the first level), and its load. */
  #probeRef: number | undefined;
  #probeRefLoad = 0;
  /** The least limit the gradient rule gave for a queueing level of this probe. */
  #probeCap = Infinity;
  #nextProbeAt = Infinity;

  constructor(opts: AdaptiveLimitOptions) {
    const { min, max } = opts;
    if (!Number.isInteger(min) || min < 1) throw new RangeError(`min must be an integer ≥ 1, got ${min}`);
    if (!Number.isInteger(max) || max < min) throw new RangeError(`max must be an integer ≥ min, got ${max}`);
    this.#min = min;
    this.#max = max;
    const initial = check('initial', opts.initial ?? Math.min(max, Math.max(min, 20)), () => true);
    this.#now = opts.now ?? Date.now;
    this.#tolerance = check('tolerance', opts.tolerance ?? 1.25, (v) => v >= 1);
    this.#smoothing = check('smoothing', opts.smoothing ?? 0.5, (v) => v > 0 && v <= 1);
    this.#backoff = check('backoff', opts.backoff ?? 0.9, (v) => v > 0 && v < 1);
    this.#utilization = check('utilization', opts.utilization ?? 0.5, (v) => v >= 0 && v <= 1);
    this.#minSamples = check('minSamples', opts.minSamples ?? 5, (v) => Number.isInteger(v) && v >= 1);
    this.#probeIntervalMs = check('probeIntervalMs', opts.probeIntervalMs ?? 60_000, (v) => v > 0);
    this.#probeFraction = check('probeFraction', opts.probeFraction ?? 0.5, (v) => v > 0 && v < 1);

    this.#estimate = this.#clamp(initial);
    // Start by measuring the baseline, from the initial limit down: with no loaded latency to
    // compare it with, the first level always leads to a second.
    this.#since = this.#now();
    this.#probeLevel = Math.floor(this.#estimate);
    this.#probeRef = undefined;
  }

  /** The current limit (an integer in [min, max]); lower while a probe measures the baseline. */
  get limit(): number {
    const steady = Math.floor(this.#estimate);
    return this.#probing ? Math.max(this.#min, Math.min(this.#probeLevel, steady)) : steady;
  }

  /** The engine's measured no-load latency, ms (undefined before the first probe ends). */
  get baselineMs(): number | undefined {
    return this.#baseline;
  }

  /** Whether a probe is measuring the baseline (the limit is pinned low meanwhile). */
  get probing(): boolean {
    return this.#probing;
  }

  /**
   * One finished request: its latency (ms, e.g. time to first token or total), how many requests
   * were in flight when it started (itself included or not: the difference does not matter), and
   * whether it failed from overload (timeout/503). startedAt (ms, on the same clock) defaults to
   * now − latency; pass it when the sample is reported later than its latency ended (a time to
   * first token reported at the end of the stream).
   */
  onSample(latencyMs: number, inflight: number, dropped: boolean, startedAt?: number): void {
    const now = this.#now();
    const latency = Number.isFinite(latencyMs) && latencyMs >= 0 ? latencyMs : undefined;
    const start = startedAt ?? now - (latency ?? 0);
    if (dropped) return this.#onDrop(now, start);
    // A failed request's latency says nothing about the engine's queue: only successes are measured.
    if (latency === undefined || !Number.isFinite(inflight)) return;
    if (!this.#probing && now >= this.#nextProbeAt) this.#startProbe(now);
    if (start < this.#since) return; // admitted under an earlier limit or level
    this.#count++;
    this.#sumLog += Math.log(Math.max(latency, 1e-3)); // 1 µs floor: log(0) would poison the mean
    if (inflight > this.#maxInflight) this.#maxInflight = inflight;
    this.#sumInflight += inflight;
    const measuring = this.#probing ? this.#probeLevel : this.limit;
    if (this.#count < Math.max(this.#minSamples, measuring)) return;
    const rtt = Math.exp(this.#sumLog / this.#count);
    if (this.#probing) this.#endLevel(now, rtt, this.#sumInflight / this.#count);
    else this.#endWindow(now, rtt);
  }

  #onDrop(now: number, start: number): void {
    if (start < this.#lastCutAt) return; // the same overload as the last cut
    this.#lastCutAt = now;
    this.#estimate = this.#clamp(this.#estimate * this.#backoff);
    // A probe goes on (the getter caps its level by the cut limit); a window restarts, since what
    // it held was measured under the old limit.
    if (!this.#probing) this.#restart(now);
  }

  #endWindow(now: number, rtt: number): void {
    const utilized = this.#maxInflight >= this.#utilization * this.limit;
    let gradient = 1;
    if (this.#baseline !== undefined) {
      gradient = (this.#tolerance * this.#baseline) / rtt;
      gradient = Math.min(MAX_GRADIENT, Math.max(MIN_GRADIENT, gradient));
    }
    if (!utilized) gradient = Math.min(1, gradient);
    const target = this.#estimate * gradient + (utilized ? Math.sqrt(this.#estimate) : 0);
    this.#estimate = this.#clamp(this.#estimate + this.#smoothing * (target - this.#estimate));
    this.#restart(now);
    // Held at the minimum while latency stays high: either the engine is that overloaded, or it got
    // slower for good and the baseline is stale. Measure again rather than wait for the interval.
    this.#windowsAtMin = gradient < 1 && Math.floor(this.#estimate) <= this.#min ? this.#windowsAtMin + 1 : 0;
    if (this.#windowsAtMin >= STUCK_WINDOWS) this.#startProbe(now);
  }

  #startProbe(now: number): void {
    this.#probing = true;
    this.#probeRef = undefined;
    this.#probeCap = Infinity;
    this.#probeLevel = Math.max(this.#min, Math.floor(this.#estimate * this.#probeFraction));
    this.#restart(now);
  }

  /** A probe level measured: its latency and its load (mean in flight, at most the level). */
  #endLevel(now: number, rtt: number, load: number): void {
    const ref = this.#probeRef;
    if (ref !== undefined && ref > this.#tolerance * rtt) {
      // Halving the load cut latency by more than the tolerance: the level above was queueing.
      // The gradient rule applied to it, with this level's latency as the best baseline so far,
      // says what limit it would have settled on. (Without this, a limit far too high, as after a
      // high initial limit, would come back after the probe and take many windows to come down.)
      const above = this.#probeRefLoad;
      this.#probeCap = Math.min(this.#probeCap, (above * this.#tolerance * rtt) / ref + Math.sqrt(above));
    }
    // Latency changed by more than the tolerance between the level above and this one: falling,
    // the engine was queueing there and may still be here; rising, the level above was measured
    // under other conditions (traffic still ramping up). Either way, look one level lower.
    const settled = ref !== undefined && ref <= this.#tolerance * rtt && rtt <= this.#tolerance * ref;
    if (!settled && this.#probeLevel > this.#min) {
      // The next level is a fraction of the load this one really had: traffic still ramping up, or
      // too little of it, filled it only so far, and halving an empty level compares nothing.
      this.#probeRef = rtt;
      this.#probeRefLoad = load;
      this.#probeLevel = Math.max(this.#min, Math.floor(load * this.#probeFraction));
      this.#restart(now);
      return;
    }
    // Below the knee, or as low as the limit goes: this level's latency is the baseline.
    this.#baseline = rtt;
    this.#estimate = this.#clamp(Math.min(this.#estimate, this.#probeCap));
    this.#probing = false;
    this.#nextProbeAt = now + this.#probeIntervalMs;
    this.#windowsAtMin = 0;
    this.#restart(now);
  }

  /** Starts measuring afresh: a new window or probe level, for requests started from now. */
  #restart(now: number): void {
    this.#since = now;
    this.#count = 0;
    this.#sumLog = 0;
    this.#maxInflight = 0;
    this.#sumInflight = 0;
  }

  #clamp(v: number): number {
    return Math.min(this.#max, Math.max(this.#min, v));
  }
}

function check(name: string, value: number, ok: (v: number) => boolean): number {
  if (!Number.isFinite(value) || !ok(value)) throw new RangeError(`${name} is out of range: ${value}`);
  return value;
}
