// Retention: every few minutes, rows past their retention (stored responses, the request log) are
// deleted in bounded batches (a transaction each), yielding to the event loop between batches.
// Reads already hide expired stored responses, so the sweeper only reclaims space; a failed sweep
// is logged and tried again at the next one. Timers are a chain (a slow sweep never overlaps the
// next) and unref'd.
import type { Logger } from '../observability/logger.js';
import { DELETE_BATCH } from './responses-repo.js';

/** What a sweeper deletes from: rows expired at `now` (ISO), at most `limit`; how many went. */
export interface Expiring {
  deleteExpired(now: string, limit: number): Promise<number>;
}

export interface SweeperOptions {
  /** Between sweeps (default 5 minutes; ±10% jitter, so replicas sharing a database drift apart). */
  intervalMs?: number;
  /** Before the first sweep after start (default 1 minute). */
  firstDelayMs?: number;
  /** Rows per deleteExpired call (default DELETE_BATCH, stored responses' statement size). */
  batch?: number;
  /** At most this many per sweep; when reached, the next sweep follows after `catchUpMs`. */
  maxPerSweep?: number;
  catchUpMs?: number;
  now?: () => number;
}

export class RetentionSweeper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<number> | undefined;
  private stopped = false;
  private readonly intervalMs: number;
  private readonly firstDelayMs: number;
  private readonly batch: number;
  private readonly maxPerSweep: number;
  private readonly catchUpMs: number;
  private readonly now: () => number;

  /** `what`: the rows swept, as the log lines name them. */
  constructor(private readonly what: string, private readonly repo: Expiring, private readonly logger: Logger, opts: SweeperOptions = {}) {
    this.intervalMs = opts.intervalMs ?? 5 * 60_000;
    this.firstDelayMs = opts.firstDelayMs ?? 60_000;
    this.batch = opts.batch ?? DELETE_BATCH;
    this.maxPerSweep = opts.maxPerSweep ?? 100 * this.batch;
    this.catchUpMs = opts.catchUpMs ?? 1_000;
    this.now = opts.now ?? Date.now;
  }

  start(): void {
    this.stopped = false;
    this.schedule(this.firstDelayMs);
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.sweep().then((deleted) => this.schedule(deleted >= this.maxPerSweep ? this.catchUpMs : this.intervalMs * (0.9 + 0.2 * Math.random())));
    }, delayMs);
    this.timer.unref();
  }

  /** One sweep now (or the one running): how many rows it deleted. Never throws. */
  sweep(): Promise<number> {
    this.running ??= this.run().finally(() => (this.running = undefined));
    return this.running;
  }

  private async run(): Promise<number> {
    const started = performance.now();
    let deleted = 0;
    try {
      while (!this.stopped && deleted < this.maxPerSweep) {
        const n = await this.repo.deleteExpired(new Date(this.now()).toISOString(), Math.min(this.batch, this.maxPerSweep - deleted));
        deleted += n;
        if (n < this.batch) break;
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    } catch (err) {
      this.logger.error({ err, deleted }, `${this.what}: retention sweep failed; trying again at the next one`);
      return deleted;
    }
    if (deleted > 0) this.logger.info({ deleted, ms: Math.round(performance.now() - started) }, `${this.what}: deleted expired`);
    return deleted;
  }

  /** No more sweeps; waits for a running one to finish its batch (so the store can be closed after). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
