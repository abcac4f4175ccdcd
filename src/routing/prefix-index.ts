// What this gateway replica remembers of where it sent each prompt prefix: block hash → the
// deployments it was sent to, and when. Approximate by design, as the engines' caches themselves
// are: bounded in entries (least recently used forgotten first, as an engine evicts), and an
// entry older than `ttlMs` counts for nothing (the engine has likely evicted it by then). Each
// replica has its own; replicas agree through the consistent hash of a conversation's leading
// blocks (prefix-choice.ts), not by sharing this.
import { LRUCache } from 'lru-cache';

export interface PrefixIndexOptions {
  maxEntries: number;
  ttlMs: number;
}

/**
 * 50,000 blocks of 256 characters remember ~12 MB of prompt text per model: several times what
 * the engines themselves hold (an 8B model's KV cache on a 40 GB GPU is ~130k tokens, ~2k of
 * these blocks per deployment). lru-cache allocates its tables for `max` up front: a few MB.
 */
export const DEFAULT_PREFIX_INDEX: PrefixIndexOptions = { maxEntries: 50_000, ttlMs: 10 * 60_000 };

export class PrefixIndex {
  /** Block hash → deployment id → when it was last sent there. */
  private readonly entries: LRUCache<number, Map<string, number>>;

  constructor(private readonly opts: PrefixIndexOptions = DEFAULT_PREFIX_INDEX, private readonly now: () => number = () => performance.now()) {
    this.entries = new LRUCache({ max: opts.maxEntries });
  }

  get size(): number {
    return this.entries.size;
  }

  /** Whether `deployment` was sent the block `hash` recently enough to still count. */
  private holds(hash: number, deployment: string, now: number): boolean {
    const at = this.entries.peek(hash)?.get(deployment);
    return at !== undefined && now - at <= this.opts.ttlMs;
  }

  /**
   * How many leading blocks of `blocks` the deployment probably holds. A binary search: the blocks
   * of one prompt are recorded together, so if a deployment holds block k it holds those before
   * it (the chain hash of k covers them).
   */
  matched(blocks: readonly number[], deployment: string): number {
    const now = this.now();
    let lo = 0;
    let hi = blocks.length;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.holds(blocks[mid - 1]!, deployment, now)) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** The request's blocks were sent to `deployment`: its engine will have them cached. */
  record(blocks: readonly number[], deployment: string): void {
    const now = this.now();
    for (const hash of blocks) {
      const holders = this.entries.get(hash);
      if (holders) holders.set(deployment, now);
      else this.entries.set(hash, new Map([[deployment, now]]));
    }
  }
}
