// One policy's run in numbers: time to first token, throughput, the simulators' cache hit rate,
// how the requests spread over the deployments, and how often a conversation's request went where
// its previous one had gone (the affinity that makes the cache hits).
import { boundedPercentile, type Bounded } from '../overload/summary.js';
import type { CacheCounts } from './cache-metrics.js';
import type { Turn } from './conversation.js';
import { ENGINE } from './engine.js';
import type { Policy } from './gateway-config.js';
import type { LoadResult } from './load.js';

export interface PolicySummary {
  policy: Policy;
  sent: number;
  completed: number;
  /** Any error: a broken run, not a slow one. */
  failed: number;
  failureCodes: Record<string, number>;
  /** Still in flight at the deadline, given up. */
  unfinished: number;
  ttftP50: Bounded;
  ttftP95: Bounded;
  elapsedMs: number;
  /** Completed requests, and their output tokens, per second of the run. */
  requestsPerS: number;
  tokensPerS: number;
  /** Summed over the four simulators (tokens). */
  cache: CacheCounts & { hitRate: number };
  /** Per deployment: requests (x-sluice-deployment) and prompt tokens its cache was asked for. */
  deployments: Array<{ id: string; requests: number; promptTokens: number; hitRate: number }>;
  /** The busiest deployment's requests over the mean. */
  maxOverMean: number;
  /** Requests after a conversation's first that went to the deployment its previous request went to. */
  sameAsPrevious: number;
  /**
   * The engines' time spent computing uncached prompt tokens, as a share of the run: uncached
   * tokens × prefillMsPerToken over 4 × the run's length. How near the prefill capacity the load ran.
   */
  prefillBusy: number;
  lateStarts: number;
}

function stickiness(turns: readonly Turn[]): number {
  const last = new Map<number, string | undefined>();
  let same = 0;
  let later = 0;
  for (const t of [...turns].sort((a, b) => a.conversation - b.conversation || a.turn - b.turn)) {
    if (t.turn > 0 && last.has(t.conversation) && t.deployment !== undefined) {
      later++;
      if (last.get(t.conversation) === t.deployment) same++;
    }
    last.set(t.conversation, t.deployment);
  }
  return later === 0 ? Number.NaN : same / later;
}

export function summarizePolicy(policy: Policy, load: LoadResult, deploymentIds: readonly string[], caches: readonly CacheCounts[]): PolicySummary {
  const { turns, elapsedMs } = load;
  const ttfts: number[] = [];
  const neverStarted: number[] = [];
  const failureCodes: Record<string, number> = {};
  let completed = 0;
  let failed = 0;
  let unfinished = 0;
  let tokens = 0;
  for (const t of turns) {
    if (t.ttftMs !== undefined) ttfts.push(t.ttftMs);
    if (t.ending === 'completed') {
      completed++;
      tokens += t.tokens;
    } else if (t.ending === 'unfinished') {
      unfinished++;
      if (t.ttftMs === undefined) neverStarted.push(t.elapsedMs);
    } else {
      failed++;
      const code = t.code ?? `status ${t.status ?? 'none'}`;
      failureCodes[code] = (failureCodes[code] ?? 0) + 1;
    }
  }
  const queries = caches.reduce((s, c) => s + c.queries, 0);
  const hits = caches.reduce((s, c) => s + c.hits, 0);
  const deployments = deploymentIds.map((id, i) => ({
    id,
    requests: turns.filter((t) => t.deployment === id).length,
    promptTokens: caches[i]!.queries,
    hitRate: caches[i]!.queries === 0 ? Number.NaN : caches[i]!.hits / caches[i]!.queries,
  }));
  const mean = deployments.reduce((s, d) => s + d.requests, 0) / deployments.length;
  const seconds = elapsedMs / 1000;
  return {
    policy,
    sent: turns.length,
    completed,
    failed,
    failureCodes,
    unfinished,
    ttftP50: boundedPercentile(ttfts, neverStarted, 50),
    ttftP95: boundedPercentile(ttfts, neverStarted, 95),
    elapsedMs,
    requestsPerS: completed / seconds,
    tokensPerS: tokens / seconds,
    cache: { queries, hits, hitRate: queries === 0 ? Number.NaN : hits / queries },
    deployments,
    maxOverMean: mean === 0 ? Number.NaN : Math.max(...deployments.map((d) => d.requests)) / mean,
    sameAsPrevious: stickiness(turns),
    prefillBusy: ((queries - hits) * ENGINE.prefillMsPerToken) / (deploymentIds.length * elapsedMs),
    lateStarts: load.lateStarts,
  };
}
