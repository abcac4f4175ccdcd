// Rate limits kept in this process's memory: the embedded default (one replica), and the
// fallback of a replica whose shared store is down and configured to fail open. All the limits a
// request is under are decided together: if any refuses, none is spent (a refused request
// consumes nothing).
import { correct, decideAll, type LimitCheck, type Verdict } from './gcra.js';

export type { LimitCheck } from './gcra.js';

export interface LimitResult {
  allowed: boolean;
  /** One verdict per check, in the order given. */
  verdicts: Verdict[];
}

/** Decisions between two sweeps of the limits that are full again. */
const SWEEP_EVERY = 10_000;

export class MemoryLimiter {
  private readonly tats = new Map<string, number>();
  private takes = 0;

  constructor(private readonly now: () => number = Date.now) {}

  take(checks: readonly LimitCheck[]): LimitResult {
    const now = this.now();
    const { allowed, verdicts } = decideAll(checks.map((c) => this.tats.get(c.key) ?? 0), now, checks);
    if (allowed) verdicts.forEach((v, i) => this.tats.set(checks[i]!.key, v.tat));
    if (++this.takes % SWEEP_EVERY === 0) this.sweep(now);
    return { allowed, verdicts };
  }

  /** Settles spends to what was really used (`delta` more each, or fewer when negative). */
  correct(checks: readonly LimitCheck[], delta: number): void {
    if (delta === 0) return;
    const now = this.now();
    for (const check of checks) {
      const tat = this.tats.get(check.key);
      if (tat !== undefined) this.tats.set(check.key, correct(tat, now, check.perMinute, delta));
    }
  }

  /** Forgets limits that are full again: their state is the same as never having been used. */
  private sweep(now: number): void {
    for (const [key, tat] of this.tats) if (tat <= now) this.tats.delete(key);
  }
}
