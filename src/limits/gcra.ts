// GCRA (the generic cell rate algorithm), the smooth rate limit of issue 10: a limit of L units a
// minute lets a fresh key spend all L at once and never more, then refills steadily (one unit
// every 60/L seconds), with no double burst at a minute boundary as fixed windows allow.
//
// The whole state of one limit is its theoretical arrival time (tat, ms): the moment at which the
// limit will be back to full. Spending n units moves it n emission intervals later; a spend is
// allowed while tat stays within one minute (the burst tolerance) of now.
//
// Pure functions of (state, now): the in-memory store calls them directly, and the Redis store
// runs the same arithmetic in its script, so both decide alike.

export const WINDOW_MS = 60_000;

export interface LimitState {
  /** Theoretical arrival time, ms since the epoch; a limit never used is full (tat ≤ now). */
  tat: number;
}

export interface Verdict {
  allowed: boolean;
  /** The state after the spend when allowed; unchanged when refused. */
  tat: number;
  /** Units left right after this decision. */
  remaining: number;
  /** Until the limit is full again, ms (OpenAI's x-ratelimit-reset-*). */
  resetMs: number;
  /** When refused: how long until this spend would be allowed, ms. */
  retryAfterMs: number;
  /** This spend alone is more than the limit allows in a minute: it can never pass. */
  neverFits: boolean;
}

/** The cost of one unit, in ms of the window. */
export function emissionInterval(perMinute: number): number {
  return WINDOW_MS / perMinute;
}

export function decide(tat: number, now: number, perMinute: number, cost: number): Verdict {
  const t = emissionInterval(perMinute);
  const base = Math.max(tat, now);
  const next = base + cost * t;
  const neverFits = cost > perMinute;
  const allowed = !neverFits && next - now <= WINDOW_MS;
  const after = allowed ? next : base;
  return {
    allowed,
    tat: after,
    remaining: Math.max(0, Math.floor((WINDOW_MS - (after - now)) / t + 1e-9)),
    resetMs: Math.max(0, Math.ceil(after - now)),
    retryAfterMs: allowed || neverFits ? 0 : Math.ceil(next - now - WINDOW_MS),
    neverFits,
  };
}

/** One limit a request is under, and what this request would spend of it. */
export interface LimitCheck {
  /** Names the counter, e.g. `{acme}:k:KEYID:t` (the braces keep one request's counters in one Redis slot). */
  key: string;
  kind: 'requests' | 'tokens';
  /** Whose limit: the key's own, its account's, or the model's per-key default. */
  scope: 'key' | 'account' | 'model';
  perMinute: number;
  cost: number;
}

/**
 * Several limits decided together: the spend is allowed only if every limit allows it, and a
 * refused spend moves none of them (so the remaining counts it reports are the unspent ones).
 * The Redis script (redis-limiter.ts) is this function in Lua.
 */
export function decideAll(tats: readonly number[], now: number, checks: readonly LimitCheck[]): { allowed: boolean; verdicts: Verdict[] } {
  const verdicts = checks.map((c, i) => decide(tats[i]!, now, c.perMinute, c.cost));
  const allowed = verdicts.every((v) => v.allowed);
  if (!allowed) {
    verdicts.forEach((v, i) => {
      if (v.allowed) verdicts[i] = { ...decide(tats[i]!, now, checks[i]!.perMinute, 0), allowed: true, retryAfterMs: 0 };
    });
  }
  return { allowed, verdicts };
}

/**
 * A spend corrected after the fact (tokens reserved before the engine ran, settled to what it
 * used): `delta` units more (or, negative, fewer). A refund never makes the limit fuller than
 * full.
 */
export function correct(tat: number, now: number, perMinute: number, delta: number): number {
  const moved = tat + delta * emissionInterval(perMinute);
  return delta < 0 ? Math.max(moved, Math.min(tat, now)) : moved;
}
