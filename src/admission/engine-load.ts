// The engine's own view of its load, for replicas that share it: a deployment with `engineMetrics`
// polls the engine's Prometheus endpoint (vLLM's, or the simulator's, which publishes the same
// names) and its admission stops letting requests through while the engine's own queue is past
// `maxWaiting`. Each replica only knows its own share of the traffic; the engine's waiting count
// is what all of them together have done to it, so this is how replicas keep a shared engine out
// of its own queue (where it serves nobody first) and keep the waiting in theirs (where priority
// classes and wait bounds apply).
//
// A reading too old to trust (the engine stopped answering its /metrics) gates nothing: the
// concurrency limit still bounds what this replica sends, and a dead engine is the router's
// business, not admission's.
import { Client } from 'undici';
import { readSamples } from './prometheus-text.js';
import { startPollLoop, type PollLoop } from '../engines/poll-loop.js';

export interface EngineMetricsConfig {
  /** Relative to the engine's origin, e.g. /metrics. */
  path: string;
  intervalMs: number;
  /** The engine's waiting requests above which admission holds new requests back. */
  maxWaiting: number;
}

export interface EngineLoadReading {
  running: number;
  waiting: number;
  /** KV-cache use, 0..1; undefined when the engine does not publish it. */
  kvCacheUsage: number | undefined;
  /** performance.now() of the reading. */
  at: number;
}

export interface EngineLoadEvents {
  /** The engine's queue passed maxWaiting (true) or came back under it (false). */
  saturated?(saturated: boolean, reading: EngineLoadReading): void;
  /** A poll failed; `first` is true for the first failure after a success (log once per outage). */
  pollFailed?(err: unknown, first: boolean): void;
  /** A poll succeeded after failures. */
  recovered?(): void;
  /** After every poll, whatever its outcome: the gate may have opened (or its reading gone stale). */
  polled?(): void;
}

const RUNNING = 'vllm:num_requests_running';
const WAITING = 'vllm:num_requests_waiting';
/** vLLM renamed the cache gauge (vllm-project/vllm#18354); either is read, the newer first. */
const KV_CACHE = ['vllm:kv_cache_usage_perc', 'vllm:gpu_cache_usage_perc'] as const;
const NAMES = [RUNNING, WAITING, ...KV_CACHE];

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

/** One reading from an exposition; undefined when it lacks the running and waiting gauges. */
export function parseEngineLoad(text: string, at: number): EngineLoadReading | undefined {
  const samples = readSamples(text, NAMES);
  const running = samples.get(RUNNING);
  const waiting = samples.get(WAITING);
  if (!running || !waiting) return undefined;
  const cache = samples.get(KV_CACHE[0]) ?? samples.get(KV_CACHE[1]);
  // One engine may serve several models, each its own label set: requests add up, the cache is shared.
  return { running: sum(running), waiting: sum(waiting), kvCacheUsage: cache ? Math.max(...cache) : undefined, at };
}

export class EngineLoad {
  private reading: EngineLoadReading | undefined;
  private isSaturated = false;
  private failing = false;
  private loop: PollLoop | undefined;
  private stopped = false;
  private readonly client: Client;
  private readonly staleAfterMs: number;
  private readonly timeoutMs: number;

  constructor(origin: string, private readonly config: EngineMetricsConfig, private readonly events: EngineLoadEvents = {}, private readonly now: () => number = () => performance.now()) {
    // Its own connection: a poll never waits behind inference requests in the engine's pool.
    this.timeoutMs = Math.min(2_000, Math.max(200, config.intervalMs * 2));
    this.client = new Client(origin, { headersTimeout: this.timeoutMs, bodyTimeout: this.timeoutMs, keepAliveTimeout: Math.max(4_000, config.intervalMs * 4) });
    this.staleAfterMs = Math.max(1_000, config.intervalMs * 4);
  }

  start(): void {
    if (this.loop || this.stopped) return;
    this.loop = startPollLoop(() => this.poll(), this.config.intervalMs, () => this.events.polled?.());
  }

  /** The latest reading still fresh enough to act on. */
  latest(): EngineLoadReading | undefined {
    const r = this.reading;
    return r && this.now() - r.at <= this.staleAfterMs ? r : undefined;
  }

  /** Whether admission should hold new requests back: only on a fresh reading past the threshold. */
  saturated(): boolean {
    return this.isSaturated && this.latest() !== undefined;
  }

  async close(): Promise<void> {
    this.stopped = true;
    this.loop?.stop();
    await this.client.destroy();
  }

  /** One poll; exported for tests, which drive it without the timer. */
  async poll(): Promise<void> {
    let reading: EngineLoadReading | undefined;
    try {
      const res = await this.client.request({ method: 'GET', path: this.config.path, signal: AbortSignal.timeout(this.timeoutMs) });
      const text = await res.body.text();
      if (res.statusCode !== 200) throw new Error(`GET ${this.config.path} answered ${res.statusCode}`);
      reading = parseEngineLoad(text, this.now());
      if (!reading) throw new Error(`GET ${this.config.path} has no ${RUNNING} and ${WAITING}`);
    } catch (err) {
      if (this.stopped) return;
      this.events.pollFailed?.(err, !this.failing);
      this.failing = true;
      return;
    }
    if (this.failing) {
      this.failing = false;
      this.events.recovered?.();
    }
    this.reading = reading;
    const saturated = reading.waiting > this.config.maxWaiting;
    if (saturated !== this.isSaturated) {
      this.isSaturated = saturated;
      this.events.saturated?.(saturated, reading);
    }
  }
}
