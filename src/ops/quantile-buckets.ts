// Durations in logarithmic buckets, each GAMMA times wider than the one before (DDSketch's
// scheme): recording one is a logarithm and an increment, memory is a fixed array, and any
// quantile read back is within ±2% of the true sample's value, which the coarse Prometheus
// buckets (0.25 s, 0.5 s, 0.75 s…) cannot promise for a dashboard's p50/p95/p99.
const GAMMA = 1.04;
const LOG_GAMMA = Math.log(GAMMA);
/** Bucket 0 holds everything under 1 ms; the last everything from about 10 minutes on. */
export const BUCKET_COUNT = 1 + Math.ceil(Math.log(600_000) / LOG_GAMMA);

/** The bucket of a duration in milliseconds. */
export function bucketOf(ms: number): number {
  if (!(ms >= 1)) return 0; // also NaN
  return Math.min(BUCKET_COUNT - 1, 1 + Math.floor(Math.log(ms) / LOG_GAMMA));
}

/** The value a bucket stands for: the geometric middle of [GAMMA^(i-1), GAMMA^i) ms. */
function valueOf(bucket: number): number {
  return bucket === 0 ? 0.5 : GAMMA ** (bucket - 0.5);
}

/**
 * The nearest-rank quantiles (the value at rank ceil(q × n)) of the counts, in milliseconds;
 * null when the counts are empty. `qs` in increasing order.
 */
export function quantiles(counts: ArrayLike<number>, qs: readonly number[]): Array<number | null> {
  let n = 0;
  for (let i = 0; i < counts.length; i++) n += counts[i]!;
  if (n === 0) return qs.map(() => null);
  const out: Array<number | null> = [];
  let seen = 0;
  let i = -1;
  for (const q of qs) {
    const rank = Math.max(1, Math.ceil(q * n));
    while (seen < rank) seen += counts[++i]!;
    out.push(Math.round(valueOf(i) * 100) / 100);
  }
  return out;
}
