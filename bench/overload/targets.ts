// The targets for the overload benchmark, each judged on numbers from the same run: the
// admission run against its own idle reference and against the run without admission.
import type { EngineLoad } from './engine-load.js';
import type { RunSummary } from './summary.js';

export interface OverloadTarget {
  id: string;
  description: string;
  /** The measured number, and the bound it is held to (value ≤ limit or value ≥ limit). */
  value: number;
  bound: 'max' | 'min';
  limit: number;
  /** How to print value and limit (share: a fraction, such as a cache hit rate). */
  unit: 'ms' | '×' | 'requests' | 'per request' | 'share';
  met: boolean;
}

export interface TargetInputs {
  /** Idle time to first token (p99) measured on the admission run's gateway before its load. */
  idleP99Ms: number;
  off: RunSummary;
  on: RunSummary;
  onEngine: EngineLoad;
  concurrency: number;
}

/** `exact` false: the value is only a bound on the real one, and cannot meet the target. */
export function judge(t: Omit<OverloadTarget, 'met'>, exact = true): OverloadTarget {
  const within = t.bound === 'max' ? t.value <= t.limit : t.value >= t.limit;
  return { ...t, met: exact && !Number.isNaN(t.value) && within };
}

export function evaluateOverloadTargets(i: TargetInputs): OverloadTarget[] {
  const crit = i.on.critical;
  const goodputRatio = i.on.all.goodputTokPerS / i.off.all.goodputTokPerS;
  return [
    // A p99 that is only a lower bound (critical requests left without a first token) is a miss.
    judge({ id: 'critical_ttft', description: 'critical p99 time to first token ≤ 2 × idle p99', value: crit.ttftP99.ms, bound: 'max', limit: 2 * i.idleP99Ms, unit: 'ms' }, !crit.ttftP99.atLeast),
    judge({ id: 'critical_shed', description: 'no critical request shed', value: crit.shed, bound: 'max', limit: 0, unit: 'requests' }),
    // No goodput at all without admission makes any goodput with it infinitely better.
    judge({ id: 'goodput', description: 'goodput ≥ 1.5 × the run without admission', value: i.off.all.goodputTokPerS === 0 && i.on.all.goodputTokPerS > 0 ? Number.POSITIVE_INFINITY : goodputRatio, bound: 'min', limit: 1.5, unit: '×' }),
    judge({ id: 'engine_concurrency', description: `engine never above its concurrency (${i.concurrency})`, value: i.onEngine.peak, bound: 'max', limit: i.concurrency, unit: 'requests' }),
  ];
}
