// Rate limits kept in this process's memory: the embedded default (one replica), and the
// fallback of a replica whose shared store is down and configured to fail open. All the limits a
// request is under are decided together: if any refuses, none is spent (a refused request
// consumes nothing).
import { correct, decide, type Verdict } from './gcra.js';

export type LimitKind = 'requests' | 'tokens';

/** One limit a request is under, and what this request would spend of it. */
export interface LimitCheck {
  /** Names the counter: scope and id, e.g. `key:abc:tokens`. */
  key: string;
  kind: LimitKind;
  perMinute: number;
  cost: number;
}

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
    const verdicts = checks.map((c) => decide(this.tats.get(c.key) ?? 0, now, c.perMinute, c.cost));
    const allowed = verdicts.every((v) => v.allowed);
    if (allowed) verdicts.forEach((v, i) => this.tats.set(checks[i]!.key, v.tat));
    if (++this.takes % SWEEP_EVERY === 0) this.sweep(now);
    return { allowed, verdicts };
  }

  /** Settles a spend to what was really used (`delta` more, or fewer when negative). */
  correct(check: LimitCheck, delta: number): void {
    const tat = this.tats.get(check.key);
    if (tat === undefined || delta === 0) return;
    this.tats.set(check.key, correct(tat, this.now(), check.perMinute, delta));
  }

  /** Forgets limits that are full again: their state is the same as never having been used. */
  private sweep(now: number): void {
    for (const [key, tat] of this.tats) if (tat <= now) this.tats.delete(key);
  }
}
