// A simulated engine's shape as `sluice sim` flags, for the benchmarks that start simulators
// (overload and failover, prefix): each declares its shape as an object, and this turns it into
// arguments.

export interface SimShape {
  maxNumSeqs?: number;
  kneeSeqs?: number;
  stepGrowth?: number;
  itlMs?: number;
  ttftMs?: number;
  prefillMsPerToken?: number;
  maxQueue?: number;
  blockTokens?: number;
  prefixCacheBlocks?: number;
  /** Every answer's natural length: set far above any max_tokens, so max_tokens sets the length. */
  outputTokens?: number;
}

const FLAGS: Record<Exclude<keyof SimShape, 'outputTokens'>, string> = {
  maxNumSeqs: '--max-num-seqs',
  kneeSeqs: '--knee-seqs',
  stepGrowth: '--step-growth',
  itlMs: '--itl-ms',
  ttftMs: '--ttft-ms',
  prefillMsPerToken: '--prefill-ms-per-token',
  maxQueue: '--max-queue',
  blockTokens: '--block-tokens',
  prefixCacheBlocks: '--prefix-cache-blocks',
};

export function simFlags(shape: SimShape): string[] {
  const out: string[] = [];
  for (const [key, flag] of Object.entries(FLAGS) as Array<[keyof typeof FLAGS, string]>) {
    const v = shape[key];
    if (v !== undefined) out.push(flag, String(v));
  }
  if (shape.outputTokens !== undefined) out.push('--output-tokens', `${shape.outputTokens}-${shape.outputTokens}`);
  return out;
}
