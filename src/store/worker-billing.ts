// BillingStore over the billing worker (billing-worker.ts), for SQLite files. Calls are messages;
// a worker that dies fails the calls it held (the gateway answers those 503, settlements stay in
// their journal) and is started again by the next call.
import { Worker } from 'node:worker_threads';
import type { LeaseRow, Release, Reservation, ReserveOutcome, Settlement } from './billing-repo.js';
import type { BillingStore } from './billing-store.js';
import type { RequestLogRow, RequestLogWriter } from './request-log-repo.js';

export type BillingCall =
  | { id: number; op: 'reserve'; batch: Reservation[] }
  | { id: number; op: 'settle'; batch: Settlement[] }
  | { id: number; op: 'settleJournal'; text: string }
  | { id: number; op: 'release'; items: Release[] }
  | { id: number; op: 'leasesOf'; prefix: string }
  | { id: number; op: 'dropEmptyLeases'; holder: string }
  | { id: number; op: 'spent'; scope: string; period: string }
  | { id: number; op: 'leased'; accountId: string }
  | { id: number; op: 'recordRequests'; rows: RequestLogRow[] }
  | { id: number; op: 'deleteRequestsBefore'; before: string; limit: number };

export type BillingReply = { id: number; value?: unknown; error?: { message: string; code?: string } };

type DistributiveOmit<T, K extends keyof T> = T extends unknown ? Omit<T, K> : never;

const WORKER_URL = new URL('./billing-worker.js', import.meta.url);

export class WorkerBilling implements BillingStore, RequestLogWriter {
  private worker: Worker | undefined;
  private nextId = 0;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private closed = false;

  constructor(private readonly path: string) {}

  private start(): Worker {
    const worker = new Worker(WORKER_URL, { workerData: { path: this.path } });
    // Idle between requests: the worker alone must not keep the process alive.
    worker.unref();
    worker.on('message', (reply: BillingReply) => {
      const w = this.waiting.get(reply.id);
      if (!w) return;
      this.waiting.delete(reply.id);
      if (reply.error) w.reject(Object.assign(new Error(reply.error.message), { code: reply.error.code }));
      else w.resolve(reply.value);
    });
    const fail = (err: Error) => {
      if (this.worker === worker) this.worker = undefined;
      for (const w of this.waiting.values()) w.reject(err);
      this.waiting.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`billing worker exited (${code})`)));
    return worker;
  }

  private call<R>(call: DistributiveOmit<BillingCall, 'id'>): Promise<R> {
    if (this.closed) return Promise.reject(new Error('billing store closed'));
    this.worker ??= this.start();
    const id = ++this.nextId;
    return new Promise<R>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker!.postMessage({ ...call, id });
    });
  }

  reserve(batch: Reservation[]): Promise<ReserveOutcome[]> {
    return this.call({ op: 'reserve', batch });
  }

  settle(batch: Settlement[], journalText?: string): Promise<void> {
    // One string crosses to the worker far more cheaply than the objects it describes.
    return journalText !== undefined ? this.call({ op: 'settleJournal', text: journalText }) : this.call({ op: 'settle', batch });
  }

  release(items: Release[]): Promise<void> {
    return items.length === 0 ? Promise.resolve() : this.call({ op: 'release', items });
  }

  leasesOf(prefix: string): Promise<LeaseRow[]> {
    return this.call({ op: 'leasesOf', prefix });
  }

  dropEmptyLeases(holder: string): Promise<void> {
    return this.call({ op: 'dropEmptyLeases', holder });
  }

  leased(accountId: string): Promise<number> {
    return this.call({ op: 'leased', accountId });
  }

  spent(scope: string, period: string): Promise<number> {
    return this.call({ op: 'spent', scope, period });
  }

  recordRequests(rows: RequestLogRow[]): Promise<void> {
    return rows.length === 0 ? Promise.resolve() : this.call({ op: 'recordRequests', rows });
  }

  deleteRequestsBefore(before: string, limit: number): Promise<number> {
    return this.call({ op: 'deleteRequestsBefore', before, limit });
  }

  async close(): Promise<void> {
    this.closed = true;
    const worker = this.worker;
    this.worker = undefined;
    if (worker) await worker.terminate();
  }
}
