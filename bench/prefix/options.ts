// The prefix scenario's plan: how many conversations start over how long, full and --quick. The
// rate of starts is the same in both; --quick has fewer conversations, and shorter ones (a run
// lasts until its longest conversation ends, ~8 s after the last start in full), so that it is a
// smoke check of ~25 s whose numbers are not the full run's: round-robin does not reach its
// capacity in it, and the targets may be missed.
import { fileURLToPath } from 'node:url';

export interface PrefixOptions {
  scenario: 'prefix';
  quick: boolean;
  /** Conversations started per policy, over startSeconds. */
  conversations: number;
  /** Requests per conversation at most (--quick); all of them when undefined. */
  maxRequests: number | undefined;
  startSeconds: number;
  /** Per policy, after its first start: what is still in flight then is given up. */
  deadlineSeconds: number;
  jsonPath: string;
}

/**
 * Conversation starts per second: the load. Round-robin's throughput stops growing here (its
 * capacity on this workload, bench/README.md has the measurements).
 */
export const STARTS_PER_S = 6;
/** The longest conversation takes ~8 s unloaded; a slow policy is given more than twice that. */
const TAIL_SECONDS = 20;
const QUICK_MAX_REQUESTS = 4;

export const DEFAULT_PREFIX_JSON = fileURLToPath(new URL('../../../bench/results/prefix.json', import.meta.url));

export function prefixOptions(quick: boolean, startSeconds: number | undefined, jsonPath: string | undefined): PrefixOptions {
  const seconds = startSeconds ?? (quick ? 2.5 : 8);
  return {
    scenario: 'prefix',
    quick,
    conversations: Math.max(4, Math.round(STARTS_PER_S * seconds)),
    maxRequests: quick ? QUICK_MAX_REQUESTS : undefined,
    startSeconds: seconds,
    deadlineSeconds: seconds + TAIL_SECONDS,
    jsonPath: jsonPath ?? DEFAULT_PREFIX_JSON,
  };
}

/** Rough wall time, seconds: printed up front, and the watchdog's basis. */
export function estimatePrefixSeconds(o: PrefixOptions): number {
  // Per policy: five processes started and stopped (~2.5 s), the starts, then the last conversations.
  return Math.ceil(3 * (2.5 + o.startSeconds + (o.maxRequests === undefined ? 8 : 3)) + 1);
}
