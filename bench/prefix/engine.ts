// The four simulated deployments of the prefix benchmark, as `sluice sim` flags (bench/README.md
// explains each choice). The run is about prefill: a prompt's uncached tokens cost 0.1 ms each and
// stall the batch they join (no chunked prefill), so a 3,000-token history missed costs ~300 ms
// while the same history cached costs only its new turn; answers are short and steps cheap.
import { simFlags, type SimShape } from '../sim-flags.js';

export const DEPLOYMENTS = 4;

export const ENGINE = {
  /** A few times an 8B model on an H100 (0.03): the share of time to first token a miss costs on a slower GPU or a larger model. */
  prefillMsPerToken: 0.1,
  /** The fixed part of the first token's time, outside the batch. */
  ttftMs: 10,
  itlMs: 5,
  maxNumSeqs: 32,
  kneeSeqs: 32,
  /** vLLM's block size. */
  blockTokens: 16,
  /**
   * Blocks kept per deployment (64k tokens). At the peak of a full run ~35 conversations are
   * active, their latest prompts ~200 blocks each: ~8,000 blocks in all. With each conversation
   * kept on one deployment, a deployment needs its quarter of them (measured 1,800-2,800 with the
   * heavier agents unevenly spread), which fits; round-robin sends every conversation everywhere,
   * so each deployment would need all ~8,000, and evicts. A cache below the busiest deployment's
   * share (1,500 was tried) makes even perfect affinity thrash and collapse.
   */
  prefixCacheBlocks: 4_000,
  /** The engine queue never refuses: slowness shows as time to first token, not as errors. */
  maxQueue: 100_000,
  /** Far above any max_tokens sent: max_tokens sets each answer's exact length. */
  outputTokens: 4096,
} as const satisfies SimShape;

export function engineFlags(): string[] {
  return simFlags(ENGINE);
}
