// Writes the request log (store/request-log-repo.ts) off the request path: a request hands its row
// to a bounded in-memory queue (an array push) and returns; batches go to the store one at a time,
// when a batch is full or a second has passed. A flood of refused requests, or a slow or broken
// store, can therefore neither slow requests nor grow memory: when the queue is full, rows are
// dropped and counted (sluice_request_log_dropped_total), as are batches the store refuses. Rows of
// requests no API key was accepted for (anyone on the network can send those) are capped per
// second, so they cannot fill the log or, on SQLite, queue writes in the billing worker ahead of
// reservations and settlements. The log is for support's questions, not for money: the ledger,
// which is, has its own journal.
import type { Logger } from './logger.js';
import type { RequestLogRow, RequestLogWriter } from '../store/request-log-repo.js';
import { TokenBucket } from './token-bucket.js';

/**
 * queue_full: more waiting than queueLimit; store_error: the store refused their batch;
 * unauthenticated_limit: beyond unauthenticatedPerSecond; shutdown: recorded after close().
 */
export type DropReason = 'queue_full' | 'store_error' | 'unauthenticated_limit' | 'shutdown';

export interface RecorderEvents {
  dropped(reason: DropReason, rows: number): void;
}

export interface RecorderOptions {
  /** Rows waiting at most; beyond, new rows are dropped. */
  queueLimit: number;
  /** How long a row waits at most before its batch is written (default 1 s). */
  flushMs?: number;
  /** Rows per store call (default 512). */
  batch?: number;
  /** Rows without an account (no API key accepted) kept per second at most, a second's worth at once. */
  unauthenticatedPerSecond: number;
  /** The clock of that cap, ms (tests). */
  now?: () => number;
}

export class RequestRecorder {
  private queue: RequestLogRow[] = [];
  private writing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Rows queued since the start, and rows whose batch was written or dropped since: flush() compares them. */
  private accepted = 0;
  private settled = 0;
  /** flush() callers: each waits for `settled` to reach its target. */
  private flushes: Array<{ target: number; resolve: () => void }> = [];
  private readonly flushMs: number;
  private readonly batch: number;
  private readonly unauthenticated: TokenBucket;

  constructor(private readonly writer: RequestLogWriter, private readonly events: RecorderEvents, private readonly logger: Logger, private readonly opts: RecorderOptions) {
    this.flushMs = opts.flushMs ?? 1_000;
    this.batch = opts.batch ?? 512;
    this.unauthenticated = new TokenBucket(opts.unauthenticatedPerSecond, opts.now);
  }

  /** Queues one row: O(1), never waits, never throws. */
  record(row: RequestLogRow): void {
    const drop = this.refusal(row);
    if (drop !== undefined) {
      this.events.dropped(drop, 1);
      return;
    }
    this.queue.push(row);
    this.accepted++;
    if (this.queue.length >= this.batch) this.kick();
    else if (this.timer === undefined && this.writing === undefined) {
      this.timer = setTimeout(() => this.kick(), this.flushMs);
      this.timer.unref();
    }
  }

  /** Why this row is not kept, if it is not. */
  private refusal(row: RequestLogRow): DropReason | undefined {
    if (this.closed) return 'shutdown';
    if (this.queue.length >= this.opts.queueLimit) return 'queue_full';
    // No account: refused before a key was accepted (or an admin call): anyone can send those.
    if (row.account_id === null && !this.unauthenticated.take()) return 'unauthenticated_limit';
    return undefined;
  }

  /** Rows queued and not yet handed to the store. */
  get queued(): number {
    return this.queue.length;
  }

  private kick(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.writing ??= this.drain().finally(() => {
      this.writing = undefined;
      if (this.queue.length === 0) return;
      // A refused batch stopped the drain: someone flushing goes on at once (each round settles a
      // batch, so it ends); otherwise the rest waits for the timer, not a tight loop on a failing store.
      if (this.flushes.length > 0) this.kick();
      else if (!this.closed) {
        this.timer ??= setTimeout(() => this.kick(), this.flushMs);
        this.timer.unref();
      }
    });
  }

  /** Batches, one store call at a time, until the queue is empty or the store refuses one. */
  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const rows = this.queue.splice(0, this.batch);
      try {
        await this.writer.recordRequests(rows);
      } catch (err) {
        this.events.dropped('store_error', rows.length);
        this.logger.error({ err, rows: rows.length }, 'request log: the store refused a batch; its rows are dropped');
        return;
      } finally {
        this.settled += rows.length;
        this.releaseFlushes();
      }
    }
  }

  /**
   * Resolves once every row queued before the call was written (or dropped by a failing store);
   * rows queued meanwhile (a flood) are not waited for. Rows leave the queue in order, one batch
   * at a time, so a count of the rows settled tells when they are done.
   */
  flush(): Promise<void> {
    const target = this.accepted;
    if (this.settled >= target) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.flushes.push({ target, resolve });
      if (!this.writing) this.kick();
    });
  }

  private releaseFlushes(): void {
    if (this.flushes.length === 0) return;
    const still = [];
    for (const f of this.flushes) {
      if (this.settled >= f.target) f.resolve();
      else still.push(f);
    }
    this.flushes = still;
  }

  /** Writes what is queued; rows recorded afterwards are dropped (shutdown). */
  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
