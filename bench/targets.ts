// The performance targets for the gateway, each judged against numbers from the same run
// (ratios and differences, never absolute req/s: the machine is shared and noisy).
import type { MetricSummary } from './metrics.js';

export interface TargetSpec {
  id: string;
  description: string;
  metric: string;
  /** Which number of the metric is compared with the limit. */
  measure: 'ratioToProxy' | 'addedOverDirect' | 'addedOverProxy' | 'gateway';
  /** 'min': value ≥ limit; 'max': value ≤ limit; 'below': value < limit. */
  bound: 'min' | 'max' | 'below';
  limit: number;
  unit: '×' | 'ms' | 'MB';
}

export const TARGETS: readonly TargetSpec[] = [
  { id: 'json_throughput', description: 'non-streaming req/s at 50 conn ≥ 0.8 × proxy', metric: 'json_c50_rps', measure: 'ratioToProxy', bound: 'min', limit: 0.8, unit: '×' },
  { id: 'json_added_p50', description: 'non-streaming p50 at 1 conn ≤ direct + 0.5 ms', metric: 'json_c1_p50', measure: 'addedOverDirect', bound: 'max', limit: 0.5, unit: 'ms' },
  { id: 'stream_ttfb', description: 'stream time to first byte ≤ proxy + 1 ms', metric: 'stream_ttfb_p50', measure: 'addedOverProxy', bound: 'max', limit: 1, unit: 'ms' },
  { id: 'stream_throughput', description: 'streams/s at 50 conn ≥ 0.7 × proxy', metric: 'stream_c50_rps', measure: 'ratioToProxy', bound: 'min', limit: 0.7, unit: '×' },
  { id: 'limited_json_throughput', description: 'rate-limited key (memory), req/s at 50 conn ≥ 0.8 × proxy', metric: 'rl_memory_c50_rps', measure: 'ratioToProxy', bound: 'min', limit: 0.8, unit: '×' },
  { id: 'stream_memory', description: 'peak RSS, 1,000 open streams < 200 MB', metric: 'memory_peak', measure: 'gateway', bound: 'below', limit: 200, unit: 'MB' },
];

export interface TargetOutcome extends TargetSpec {
  value: number;
  met: boolean;
}

function valueOf(m: MetricSummary, measure: TargetSpec['measure']): number {
  switch (measure) {
    case 'ratioToProxy': return m.ratio.toProxy;
    case 'addedOverDirect': return m.added.overDirect;
    case 'addedOverProxy': return m.added.overProxy;
    case 'gateway': return m.median.gateway;
  }
}

export function evaluateTargets(metrics: readonly MetricSummary[]): TargetOutcome[] {
  return TARGETS.map((t) => {
    const m = metrics.find((x) => x.id === t.metric);
    if (!m) throw new Error(`target ${t.id}: no metric ${t.metric}`);
    const value = valueOf(m, t.measure);
    const met = t.bound === 'min' ? value >= t.limit : t.bound === 'max' ? value <= t.limit : value < t.limit;
    return { ...t, value, met: Number.isFinite(value) && met };
  });
}
