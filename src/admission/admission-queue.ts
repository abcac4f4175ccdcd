// Admission in front of one deployment (precedence 13): at most `limit()` requests in service,
// and in front of them one queue ordered by priority class (critical, then standard, then batch),
// first come first served within a class. Each class has its own length and wait bounds; all
// waiters together are bounded by maxQueue, and a request that finds the queue full while its
// own class has room evicts the newest waiter of a lower class rather than being refused: under a
// flood of batch work, interactive requests still get in.
//
// Refusals carry retry advice from the measured drain rate (how fast requests leave service),
// never a constant: the time the queue ahead would take to drain.
import { GatewayError } from '../errors/gateway-error.js';
import { ClientClosed } from '../server/context.js';
import type { Priority } from '../store/keys-repo.js';

export const PRIORITIES: readonly Priority[] = ['critical', 'standard', 'batch'];

export interface ClassBounds {
  maxLength: number;
  maxWaitMs: number;
}

export interface AdmissionOptions {
  /** Requests in service at most; read at every decision, so an adaptive limit can move it. */
  limit: () => number;
  maxQueue: number;
  classes: Record<Priority, ClassBounds>;
  /**
   * Whether the engine takes more now, whatever the limit: false while its own published queue
   * is past its threshold (engine-load.ts). Call wake() when it may have turned true.
   */
  open?: () => boolean;
  /**
   * Slots only critical requests may take: standard and batch are admitted while at least this
   * many stay free, so a critical arrival under sustained load finds a slot at once instead of
   * waiting for the next request to finish.
   */
  reserveCritical?: number;
  now?: () => number;
}

/** Gives the slot back; calling it again does nothing. */
export type Release = () => void;

interface Waiter {
  priority: Priority;
  enqueuedAt: number;
  resolve: (release: Release) => void;
  reject: (err: unknown) => void;
  timer: NodeJS.Timeout | undefined;
  /** Undoes the abort listener. */
  unlisten: (() => void) | undefined;
}

/**
 * What tells a waiter its client left: the request's Cancellation (a listener there costs nothing
 * like an AbortSignal's, which the request path avoids making).
 */
export interface Abortable {
  readonly aborted: boolean;
  onAbort(listener: (reason: unknown) => void): () => void;
}

/** Outcome of one admission, for the metrics: how long it waited, or why it was shed. */
export interface AdmissionEvents {
  admitted?(priority: Priority, waitedMs: number): void;
  shed?(priority: Priority, code: 'server_overloaded' | 'queue_timeout'): void;
}

/** Weight of the newest interval in the drain-rate average. */
const DRAIN_SMOOTHING = 0.2;
/** Until a rate is measured, one request a second is assumed: retry advice stays conservative. */
const UNMEASURED_RATE_PER_S = 1;
const MIN_ADVICE_MS = 100;
const MAX_ADVICE_MS = 60_000;

export class AdmissionQueue {
  private inService = 0;
  private readonly waiting: Record<Priority, Waiter[]> = { critical: [], standard: [], batch: [] };
  private waiters = 0;
  /** Completions per second, smoothed; measured from the gaps between releases. */
  private drainPerS = 0;
  private lastReleaseAt: number | undefined;
  private readonly now: () => number;

  constructor(private readonly opts: AdmissionOptions, private readonly events: AdmissionEvents = {}) {
    this.now = opts.now ?? (() => performance.now());
  }

  get running(): number {
    return this.inService;
  }

  /** Waiters the queue holds at most, all classes together (the saturation metric's denominator). */
  get capacity(): number {
    return this.opts.maxQueue;
  }

  queued(priority?: Priority): number {
    return priority === undefined ? this.waiters : this.waiting[priority].length;
  }

  /** A slot at once (no promise) when one is free and nobody waits; otherwise a place in the queue. */
  acquire(priority: Priority, cancel?: Abortable): Release | Promise<Release> {
    if (this.waiters === 0 && this.hasRoom(priority)) {
      this.inService++;
      this.events.admitted?.(priority, 0);
      return this.releaser();
    }
    if (cancel?.aborted) throw new ClientClosed();
    const bounds = this.opts.classes[priority];
    if (this.waiting[priority].length >= bounds.maxLength) throw this.shed(priority, 'server_overloaded', `The ${priority} queue is full.`);
    if (this.waiters >= this.opts.maxQueue && !this.evictBelow(priority)) throw this.shed(priority, 'server_overloaded', 'The queue is full.');
    return new Promise<Release>((resolve, reject) => {
      const w: Waiter = { priority, enqueuedAt: this.now(), resolve, reject, timer: undefined, unlisten: undefined };
      w.timer = setTimeout(() => {
        this.remove(w);
        reject(this.shed(priority, 'queue_timeout', `The request waited ${bounds.maxWaitMs} ms in the ${priority} queue without being served.`));
      }, bounds.maxWaitMs);
      if (cancel) {
        // A client gone while queued leaves at once and holds nothing.
        w.unlisten = cancel.onAbort(() => {
          this.remove(w);
          reject(new ClientClosed());
        });
      }
      this.waiting[priority].push(w);
      this.waiters++;
      // Room may be there for this class though not for those waiting (a slot reserved for
      // critical, with standard requests queued): the queue decides, highest class first.
      this.dispatch();
    });
  }

  /** Lets waiters in if room appeared other than by a release (the engine's queue went down). */
  wake(): void {
    this.dispatch();
  }

  private hasRoom(priority: Priority): boolean {
    const free = this.opts.limit() - this.inService;
    const needed = priority === 'critical' ? 1 : 1 + (this.opts.reserveCritical ?? 0);
    return free >= needed && (this.opts.open?.() ?? true);
  }

  /** The queue ahead drained at the measured rate: how long a refused request should wait. */
  retryAfterMs(): number {
    const rate = this.drainPerS > 0 ? this.drainPerS : UNMEASURED_RATE_PER_S;
    const ms = ((this.waiters + 1) / rate) * 1000;
    return Math.min(MAX_ADVICE_MS, Math.max(MIN_ADVICE_MS, Math.ceil(ms)));
  }

  private shed(priority: Priority, code: 'server_overloaded' | 'queue_timeout', message: string): GatewayError {
    this.events.shed?.(priority, code);
    return new GatewayError(code, { message, retryAfterMs: this.retryAfterMs() });
  }

  /** Makes room for a `priority` arrival by evicting the newest waiter of the lowest lower class. */
  private evictBelow(priority: Priority): boolean {
    for (let i = PRIORITIES.length - 1; PRIORITIES[i] !== priority; i--) {
      const lower = PRIORITIES[i]!;
      const victim = this.waiting[lower].at(-1);
      if (!victim) continue;
      this.remove(victim);
      victim.reject(this.shed(lower, 'server_overloaded', `The request was moved out of the ${lower} queue by higher-priority traffic.`));
      return true;
    }
    return false;
  }

  private remove(w: Waiter): void {
    const list = this.waiting[w.priority];
    const i = list.indexOf(w);
    if (i === -1) return;
    list.splice(i, 1);
    this.waiters--;
    clearTimeout(w.timer);
    w.unlisten?.();
  }

  private releaser(): Release {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.inService--;
      this.measureDrain();
      this.dispatch();
    };
  }

  private measureDrain(): void {
    const t = this.now();
    if (this.lastReleaseAt !== undefined) {
      const gapS = Math.max(1e-3, (t - this.lastReleaseAt) / 1000);
      const rate = 1 / gapS;
      this.drainPerS = this.drainPerS === 0 ? rate : this.drainPerS + DRAIN_SMOOTHING * (rate - this.drainPerS);
    }
    this.lastReleaseAt = t;
  }

  /** Fills free slots from the head of the highest non-empty class. */
  private dispatch(): void {
    while (this.waiters > 0) {
      const priority = PRIORITIES.find((p) => this.waiting[p].length > 0)!;
      // Strict priority: a lower class never passes a higher one still waiting for room.
      if (!this.hasRoom(priority)) return;
      const w = this.waiting[priority][0]!;
      this.remove(w);
      const waited = this.now() - w.enqueuedAt;
      // Its timeout is due but its timer has not run yet (a busy loop): it is shed, as it would have been.
      const bound = this.opts.classes[priority].maxWaitMs;
      if (waited >= bound) {
        w.reject(this.shed(priority, 'queue_timeout', `The request waited ${bound} ms in the ${priority} queue without being served.`));
        continue;
      }
      this.inService++;
      this.events.admitted?.(priority, waited);
      w.resolve(this.releaser());
    }
  }
}
