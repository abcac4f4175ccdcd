// Writes the request log (store/request-log-repo.ts) off the request path: a request hands its row
// to a bounded in-memory queue (an array push) and returns; batches go to the store one at a time,
// when a batch is full or a second has passed. A flood of refused requests, or a slow or broken
// store, can therefore neither slow requests nor grow memory: when the queue is full, rows are
// dropped and counted (sluice_request_log_dropped_total), as are batches the store refuses. The
// log is for support's questions, not for money: the ledger, which is, has its own journal.
import type { Logger } from './logger.js';
import type { RequestLogRow, RequestLogWriter } from '../store/request-log-repo.js';

export type DropReason = 'queue_full' | 'store_error';

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

  constructor(private readonly writer: RequestLogWriter, private readonly events: RecorderEvents, private readonly logger: Logger, private readonly opts: RecorderOptions) {
    this.flushMs = opts.flushMs ?? 1_000;
    this.batch = opts.batch ?? 512;
  }

  /** Queues one row: O(1), never waits, never throws. */
  record(row: RequestLogRow): void {
    if (this.closed || this.queue.length >= this.opts.queueLimit) {
      this.events.dropped('queue_full', 1);
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
