// The simulated engine's prefix cache, as vLLM's automatic prefix caching keeps it: blocks of
// blockTokens tokens named by their chained hashes (block-hash.ts), at most maxBlocks of them, the
// least recently used evicted first. A prompt's cached tokens are its leading blocks found in the
// cache; its prefill computes only the rest. One cache per SimCore, that is per deployment.
//
// As vLLM does (vllm/v1/core/kv_cache_manager.py):
// - a hit never covers a prompt's last token, whose logits must be computed: at most
//   (tokens - 1) tokens, in whole blocks, are taken from the cache (get_computed_blocks);
// - the counters are in tokens: queries += the prompt's tokens, hits += its cached tokens
//   (record_prefix_cache_stats), published as vllm:prefix_cache_queries / _hits;
// - a request's blocks are registered when it is scheduled (allocate_slots → cache_blocks), so one
//   scheduled later, even in the same step, finds them; one scheduled before it does not;
// - a finished request's blocks are freed tail first, so the tail of a prompt is evicted before its
//   head (free() frees "in reverse order"): insert() touches the blocks last to first.
// Simplification: vLLM's cache is the KV memory itself, so blocks a running request holds cannot be
// evicted; here the cache is a bound of its own, and any block may go.
import { LRUCache } from 'lru-cache';
import { MAX_PREFIX_BLOCKS, type SimSettings } from '../config/schema.js';

/** A prompt as the cache sees it: its token count and the hashes of its full blocks. */
export interface PromptBlocks {
  tokens: number;
  blocks: readonly number[];
}

export interface PrefixCacheStats {
  blockTokens: number;
  maxBlocks: number;
  /** Blocks held now. */
  blocks: number;
  /** Prompt tokens looked up, and of those, found cached (vLLM's counters, in tokens). */
  queries: number;
  hits: number;
}

export class PrefixCache {
  private readonly lru: LRUCache<number, true>;
  private queries = 0;
  private hits = 0;

  constructor(readonly blockTokens: number, readonly maxBlocks: number) {
    this.lru = new LRUCache({ max: maxBlocks });
  }

  /**
   * Tokens at the head of the prompt that are cached, counted into the hit and query counters.
   * A miss at block k ends the hit: a later block's hash covers block k too, so it cannot be held
   * without it unless it was evicted apart, and then it cannot be used either.
   */
  lookup(prompt: PromptBlocks): number {
    const usable = Math.min(prompt.blocks.length, Math.max(0, Math.floor((prompt.tokens - 1) / this.blockTokens)));
    let n = 0;
    while (n < usable && this.lru.has(prompt.blocks[n]!)) n++;
    const hit = n * this.blockTokens;
    this.queries += prompt.tokens;
    this.hits += hit;
    return hit;
  }

  /** The prompt's blocks are in the cache, its head the most recently used. */
  insert(prompt: PromptBlocks): void {
    for (let i = prompt.blocks.length - 1; i >= 0; i--) this.lru.set(prompt.blocks[i]!, true);
  }

  stats(): PrefixCacheStats {
    return { blockTokens: this.blockTokens, maxBlocks: this.maxBlocks, blocks: this.lru.size, queries: this.queries, hits: this.hits };
  }
}

/** The settings' cache, or none when maxBlocks is 0; maxBlocks unset means the whole KV cache. */
export function prefixCacheOf(settings: Pick<SimSettings, 'prefixCache' | 'kvCacheTokens'>): PrefixCache | undefined {
  const { blockTokens, maxBlocks } = settings.prefixCache;
  const blocks = maxBlocks ?? Math.min(MAX_PREFIX_BLOCKS, Math.floor(settings.kvCacheTokens / blockTokens));
  return blocks > 0 ? new PrefixCache(blockTokens, blocks) : undefined;
}
