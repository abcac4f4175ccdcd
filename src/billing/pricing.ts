// Cost in nano-USD from token counts and a model's prices (USD per million tokens).
import type { ModelConfig } from '../config/schema.js';

/** $1 per million tokens is 1,000 nano-USD per token. */
const NANOS_PER_TOKEN_PER_USD_PER_MTOK = 1_000;

export function costNanos(pricing: ModelConfig['pricing'], inputTokens: number, outputTokens: number): number {
  return Math.round((inputTokens * pricing.inputPerMTok + outputTokens * pricing.outputPerMTok) * NANOS_PER_TOKEN_PER_USD_PER_MTOK);
}

export function isFree(pricing: ModelConfig['pricing']): boolean {
  return pricing.inputPerMTok === 0 && pricing.outputPerMTok === 0;
}
