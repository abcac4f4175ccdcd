// The targets for the prefix benchmark, judged on prefix-aware routing against the
// round-robin run of the same benchmark run (the same conversations at the same moments).
import { judge, type OverloadTarget } from '../overload/targets.js';
import type { PolicySummary } from './summary.js';

export const TTFT_RATIO = 0.5;
export const MIN_HIT_RATE = 0.8;
export const MAX_LOAD_OVER_MEAN = 1.5;

export function evaluatePrefixTargets(roundRobin: PolicySummary, prefixAware: PolicySummary): OverloadTarget[] {
  return [
    // A prefix-aware p95 that is only a lower bound (requests given up before their first token)
    // is a miss; a round-robin one that is only a lower bound makes the limit one too, so a value
    // within it is still within the truth.
    judge({ id: 'ttft_p95', description: `prefix-aware TTFT p95 ≤ ${TTFT_RATIO} × round-robin's`, value: prefixAware.ttftP95.ms, bound: 'max', limit: TTFT_RATIO * roundRobin.ttftP95.ms, unit: 'ms' }, !prefixAware.ttftP95.atLeast),
    judge({ id: 'hit_rate', description: `prefix-aware cache hit rate ≥ ${MIN_HIT_RATE}`, value: prefixAware.cache.hitRate, bound: 'min', limit: MIN_HIT_RATE, unit: 'share' }),
    judge({ id: 'load_spread', description: `prefix-aware busiest deployment ≤ ${MAX_LOAD_OVER_MEAN} × mean`, value: prefixAware.maxOverMean, bound: 'max', limit: MAX_LOAD_OVER_MEAN, unit: '×' }),
  ];
}
