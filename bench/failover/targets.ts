// The failover benchmark's targets, each judged on numbers of the same run: what the clients saw
// against what the kill made unavoidable, the retries against the budget, and how soon the dead
// engine stopped getting requests against what its health checks promise.
import { judge, type OverloadTarget } from '../overload/targets.js';
import type { KillImpact } from './kill-impact.js';
import type { PhaseSummary } from './phases.js';
import { HEALTH_CHECK, RETRY_DEFAULTS } from './workload.js';

/**
 * Scheduling slack on top of the health checks' own bound: the gateway's timers run late when the
 * two cores are shared by the gateway, two simulators and the load generator.
 */
export const DETECTION_MARGIN_MS = 100;

/**
 * The longest a dead engine can keep getting requests once it died, from its health checks alone.
 * They run one after another, intervalMs apart. A killed process on loopback refuses connections
 * at once, so every check after the kill fails within a millisecond: the first one starts at most
 * intervalMs after the kill, and the unhealthyAfter-th (unhealthyAfter − 1) × intervalMs later. The
 * timeoutMs covers one check that waits out its timeout instead (one in flight at the kill, on a
 * connection that dies without a reset). The circuit breaker can only take it out sooner.
 */
export const DETECTION_BOUND_MS = HEALTH_CHECK.unhealthyAfter * HEALTH_CHECK.intervalMs + HEALTH_CHECK.timeoutMs + DETECTION_MARGIN_MS;

/**
 * What the retry budget lets through, per request: retries up to budgetRatio of the requests plus
 * minPerSecond a second, so at `rps` requests a second, at most 1 + budgetRatio + minPerSecond / rps
 * attempts per request on average, however many deployments fail.
 */
export function attemptsLimit(rps: number): number {
  return 1 + RETRY_DEFAULTS.budgetRatio + RETRY_DEFAULTS.minPerSecond / rps;
}

export interface FailoverTargetInputs {
  all: PhaseSummary;
  /** Non-streamed requests that did not get their answer. */
  jsonErrors: number;
  impact: KillImpact;
  offeredRps: number;
  /** ms from the kill to the arrival of the last request routed to the dead engine; 0 for none. */
  routedAfterKillMs: number;
}

export function evaluateFailoverTargets(i: FailoverTargetInputs): OverloadTarget[] {
  return [
    judge({ id: 'json_errors', description: 'non-streaming requests that got an error', value: i.jsonErrors, bound: 'max', limit: 0, unit: 'requests' }),
    judge({ id: 'client_errors', description: 'errors seen by clients ≤ streams cut mid-way', value: i.all.errors, bound: 'max', limit: i.impact.unsaveable, unit: 'requests' }),
    judge({ id: 'attempts', description: `attempts per request ≤ 1 + ${RETRY_DEFAULTS.budgetRatio} + ${RETRY_DEFAULTS.minPerSecond}/s ÷ offered rate`, value: i.all.attempts.mean, bound: 'max', limit: attemptsLimit(i.offeredRps), unit: 'per request' }),
    judge({ id: 'detection', description: 'last request to the dead engine, after the kill', value: i.routedAfterKillMs, bound: 'max', limit: DETECTION_BOUND_MS, unit: 'ms' }),
  ];
}
