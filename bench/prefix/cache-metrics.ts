// The simulators' prefix caches as their /metrics publish them, under vLLM's counter names (in
// tokens): prompt tokens looked up, and of those, found cached. Read before and after a run's
// load and differenced, so the warm-up requests do not count.
import { request } from 'undici';
import { gauge } from '../overload/engine-load.js';

export interface CacheCounts {
  queries: number;
  hits: number;
}

export async function readCache(simOrigin: string): Promise<CacheCounts> {
  const res = await request(`${simOrigin}/metrics`);
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`a simulator's /metrics answered ${res.statusCode}`);
  return { queries: gauge(text, 'vllm:prefix_cache_queries_total'), hits: gauge(text, 'vllm:prefix_cache_hits_total') };
}

export function cacheBetween(before: CacheCounts, after: CacheCounts): CacheCounts {
  return { queries: after.queries - before.queries, hits: after.hits - before.hits };
}
