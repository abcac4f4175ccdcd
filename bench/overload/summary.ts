// One run's requests, per priority class and in all: how many got in, how many were shed, their
// time to first token, and goodput (tokens per second from requests that met the first-token
// objective).
import type { Priority } from '../../src/store/keys-repo.js';
import type { Sent } from './open-loop.js';
import { CLASSES } from './workload.js';

/** A percentile that may only be a lower bound: some requests never saw a first token. */
export interface Bounded {
  ms: number;
  /** true: requests given up before their first token count at the time they were given up, so the real value is at least this. */
  atLeast: boolean;
}

export interface ClassSummary {
  sent: number;
  /** Answered 200: the request reached a batch slot of the engine. */
  admitted: number;
  /** Refused by admission with 503 server_overloaded or queue_timeout. */
  shed: number;
  shedCodes: Record<string, number>;
  /** Shed without a retry-after header: retry advice missing. */
  shedWithoutRetryAfter: number;
  /** Given up by the benchmark, still waiting or streaming, at the end of the grace period. */
  unfinished: number;
  /** Any other error: a broken run, not overload. */
  failed: number;
  failureCodes: Record<string, number>;
  completed: number;
  ttftP50: Bounded;
  ttftP99: Bounded;
  /** Completed with the first token within the objective. */
  metObjective: number;
  /** Output tokens of the requests that met the objective, per second of arrivals. */
  goodputTokPerS: number;
}

export type RunSummary = Record<Priority | 'all', ClassSummary>;

/** Nearest-rank percentile over exact times and lower bounds (see Bounded). */
export function boundedPercentile(exact: readonly number[], lowerBounds: readonly number[], p: number): Bounded {
  const all = [...exact.map((ms) => ({ ms, bound: false })), ...lowerBounds.map((ms) => ({ ms, bound: true }))].sort((a, b) => a.ms - b.ms);
  if (all.length === 0) return { ms: Number.NaN, atLeast: false };
  const pick = all[Math.min(all.length, Math.max(1, Math.ceil((p / 100) * all.length))) - 1]!;
  // Each true value is at least its observed one, so the true k-th smallest is at least the
  // observed k-th; only when no bound lies at or below the pick is the pick exact.
  return { ms: pick.ms, atLeast: all.some((x) => x.bound && x.ms <= pick.ms) };
}

function count(into: Record<string, number>, key: string | undefined): void {
  const k = key ?? 'unknown';
  into[k] = (into[k] ?? 0) + 1;
}

function summarize(sent: readonly Sent[], objectiveMs: number, windowSeconds: number): ClassSummary {
  const s: Omit<ClassSummary, 'ttftP50' | 'ttftP99' | 'goodputTokPerS'> = { sent: sent.length, admitted: 0, shed: 0, shedCodes: {}, shedWithoutRetryAfter: 0, unfinished: 0, failed: 0, failureCodes: {}, completed: 0, metObjective: 0 };
  const ttfts: number[] = [];
  const neverStarted: number[] = [];
  let goodTokens = 0;
  for (const r of sent) {
    if (r.status === 200) s.admitted++;
    if (r.ttftMs !== undefined) ttfts.push(r.ttftMs);
    switch (r.ending) {
      case 'shed':
        s.shed++;
        count(s.shedCodes, r.code);
        if (r.retryAfter === undefined) s.shedWithoutRetryAfter++;
        break;
      case 'failed': s.failed++; count(s.failureCodes, r.code); break;
      case 'unfinished':
        s.unfinished++;
        if (r.ttftMs === undefined) neverStarted.push(r.elapsedMs);
        break;
      case 'completed':
        s.completed++;
        if (r.ttftMs! <= objectiveMs) {
          s.metObjective++;
          goodTokens += r.tokens;
        }
        break;
    }
  }
  return {
    ...s,
    ttftP50: boundedPercentile(ttfts, neverStarted, 50),
    ttftP99: boundedPercentile(ttfts, neverStarted, 99),
    goodputTokPerS: goodTokens / windowSeconds,
  };
}

export function summarizeRun(sent: readonly Sent[], objectiveMs: number, windowSeconds: number): RunSummary {
  const by = (p: Priority) => summarize(sent.filter((r) => r.priority === p), objectiveMs, windowSeconds);
  const out = Object.fromEntries(CLASSES.map((p) => [p, by(p)])) as Record<Priority, ClassSummary>;
  return { ...out, all: summarize(sent, objectiveMs, windowSeconds) };
}
