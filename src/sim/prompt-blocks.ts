// One pass over a prompt on the offload worker (src/offload/worker.ts): the number of tokens in its
// texts, which is the prompt's count, and the hashes of its prefix-cache blocks. Texts are
// tokenized in token-slices.ts's pieces, so the work is linear in the prompt whatever its shape.
import { createRequire } from 'node:module';
import { BlockHasher } from './block-hash.js';
import { forEachSlice } from './token-slices.js';

/** A text to tokenize, or ids that stand as they are (token-id prompts, chat role markers). */
export type PromptPart = string | readonly number[];

export interface TokenizedPrompt {
  /** Tokens of the string parts only: the ids a prompt is given as are counted by their owner. */
  textTokens: number;
  /** Hashes of the full blocks of all the parts in order (empty when blockTokens is 0). */
  blocks: number[];
}

interface Encoding {
  encode(text: string, options?: { disallowedSpecial?: Set<string> }): number[];
  countTokens(text: string, options?: { disallowedSpecial?: Set<string> }): number;
}

/** Special tokens such as <|endoftext|> in a prompt are plain text, as the gateway counts them. */
const AS_TEXT = { disallowedSpecial: new Set<string>() };

const require = createRequire(import.meta.url);
let encoding: Encoding | undefined;

export function tokenizePrompt(parts: readonly PromptPart[], blockTokens: number): TokenizedPrompt {
  encoding ??= require('gpt-tokenizer/encoding/o200k_base') as Encoding;
  const enc = encoding;
  let textTokens = 0;
  if (blockTokens <= 0) {
    // No cache: the count alone, without building id arrays.
    for (const p of parts) if (typeof p === 'string') forEachSlice(p, (s) => (textTokens += enc.countTokens(s, AS_TEXT)));
    return { textTokens, blocks: [] };
  }
  const hasher = new BlockHasher(blockTokens);
  for (const p of parts) {
    if (typeof p !== 'string') {
      hasher.push(p);
      continue;
    }
    forEachSlice(p, (s) => {
      const ids = enc.encode(s, AS_TEXT);
      textTokens += ids.length;
      hasher.push(ids);
    });
  }
  return { textTokens, blocks: hasher.blocks };
}
