// The run's requests, cut by when they were sent against the kill and the restart, as the clients
// saw them: answered or not, how many attempts the gateway made (x-sluice-attempts), the errors
// they got, how fast, and which deployment answered (x-sluice-deployment).
import { percentile } from '../stats.js';
import type { Sent } from '../overload/open-loop.js';
import type { FailoverArrival } from './workload.js';

export type Request = Sent<FailoverArrival>;

export interface Percentiles {
  p50: number;
  p99: number;
  count: number;
}

export interface PhaseSummary {
  label: string;
  /** A subset of the phase above it (the requests in flight at the kill), shown indented. */
  nested: boolean;
  sent: number;
  /** Answered in full: a JSON answer, or a stream to its [DONE] with no error event. */
  ok: number;
  /** By x-sluice-attempts; `unknown`: no answer headers (the connection failed or was given up). */
  attempts: { one: number; two: number; more: number; unknown: number; mean: number };
  /** Every request that did not end answered in full, by what its client saw (see clientError). */
  errors: number;
  errorCodes: Record<string, number>;
  /** Streams: send to the first token. Non-streamed: send to the whole answer. */
  streamTtft: Percentiles;
  jsonLatency: Percentiles;
  /** Answered in full, by the deployment that answered. */
  servedBy: Record<string, number>;
}

/** What the client of a failed request saw, or undefined when it was answered in full. */
export function clientError(r: Request): string | undefined {
  if (r.ending === 'completed') return undefined;
  if (r.ending === 'unfinished') return 'given up unanswered';
  if (r.status === undefined) return `no answer: ${r.code ?? 'unknown'}`;
  if (r.status !== 200) return `HTTP ${r.status} ${r.code ?? ''}`.trimEnd();
  // A 200 that went wrong after its first byte: the SSE error event (or the stream cut short).
  return `${r.arrival.stream ? 'stream error event' : 'bad JSON answer'}: ${r.code ?? 'unknown'}`;
}

function times(values: number[]): Percentiles {
  return { p50: percentile(values, 50), p99: percentile(values, 99), count: values.length };
}

export function summarizePhase(label: string, requests: readonly Request[], nested = false): PhaseSummary {
  const s: PhaseSummary = {
    label,
    nested,
    sent: requests.length,
    ok: 0,
    attempts: { one: 0, two: 0, more: 0, unknown: 0, mean: Number.NaN },
    errors: 0,
    errorCodes: {},
    streamTtft: times([]),
    jsonLatency: times([]),
    servedBy: {},
  };
  let attemptSum = 0;
  const ttft: number[] = [];
  const latency: number[] = [];
  for (const r of requests) {
    const a = r.attempts;
    if (a === undefined) s.attempts.unknown++;
    else {
      attemptSum += a;
      if (a === 1) s.attempts.one++;
      else if (a === 2) s.attempts.two++;
      else s.attempts.more++;
    }
    if (r.ttftMs !== undefined) (r.arrival.stream ? ttft : latency).push(r.ttftMs);
    const error = clientError(r);
    if (error === undefined) {
      s.ok++;
      const d = r.deployment ?? 'unknown';
      s.servedBy[d] = (s.servedBy[d] ?? 0) + 1;
    } else {
      s.errors++;
      s.errorCodes[error] = (s.errorCodes[error] ?? 0) + 1;
    }
  }
  const known = s.sent - s.attempts.unknown;
  s.attempts.mean = known > 0 ? attemptSum / known : Number.NaN;
  s.streamTtft = times(ttft);
  s.jsonLatency = times(latency);
  return s;
}

export interface Moments {
  /** performance.now() of the kill, and of the restart's spawn. */
  killAt: number;
  restartAt: number;
}

/** The first second after the kill: the requests that meet the dead engine, or its absence, first. */
export const FIRST_SECOND_MS = 1_000;

/**
 * By send time: before the kill (and, among those, the ones still in flight at it), the first
 * second after it, the rest with one engine, after the restart; and all of them.
 */
export function summarizePhases(sent: readonly Request[], m: Moments): PhaseSummary[] {
  const ended = (r: Request) => r.sentAt + r.elapsedMs;
  const before = sent.filter((r) => r.sentAt < m.killAt);
  return [
    summarizePhase('before the kill', before),
    summarizePhase('in flight at it', before.filter((r) => ended(r) > m.killAt), true),
    summarizePhase('first second after', sent.filter((r) => r.sentAt >= m.killAt && r.sentAt < m.killAt + FIRST_SECOND_MS)),
    summarizePhase('rest, one engine', sent.filter((r) => r.sentAt >= m.killAt + FIRST_SECOND_MS && r.sentAt < m.restartAt)),
    summarizePhase('after the restart', sent.filter((r) => r.sentAt >= m.restartAt)),
    summarizePhase('all', sent),
  ];
}
