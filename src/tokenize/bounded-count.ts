// Token counting whose work is linear in the input, whatever its shape, and that stops as soon as
// a prompt is known to be over its limit. Runs on the offload worker (offload/worker.ts), never on
// the event loop.
//
// BPE is quadratic in the length of one pre-tokenized piece: 16,000 CJK characters without
// punctuation took 1.5 s, 100,000 letters without a space ~5 s. The text is therefore walked with
// the tokenizer's own split pattern; runs of ordinary pieces go to the tokenizer whole (so their
// count is exactly the tokenizer's), and a piece longer than MAX_PIECE is counted in slices of
// MAX_PIECE characters, as tiktoken-based servers bound their work. Such a piece is never
// ordinary text; its count may then differ from the tokenizer's by about one token per slice.
import { createRequire } from 'node:module';

interface Encoding {
  countTokens(text: string, options?: { disallowedSpecial?: Set<string> }): number;
}

/** Longest piece counted in one go: about 0.1 ms of BPE even for CJK, the costliest script. */
export const MAX_PIECE = 128;
/** Characters handed to the tokenizer at once: a limit is checked between segments. */
export const SEGMENT = 16_384;
/** A run this long may hold a piece over MAX_PIECE; texts without one take the direct path. */
export const LONG_RUN = new RegExp(`\\S{${MAX_PIECE + 1}}|\\s{${MAX_PIECE + 1}}`);
/**
 * Segments end after a piece that ends in a non-space: a whitespace piece's extent depends on
 * what follows it (the split pattern's lookahead), so cutting after one could change the count.
 * Text with no such piece for 4 segments (`!\n` repeated) is cut anyway, so the limit is checked.
 */
export const ENDS_IN_TEXT = /\S$/;
/** Special tokens such as <|endoftext|> in a prompt are plain text, as engines treat user input. */
const AS_TEXT = { disallowedSpecial: new Set<string>() };

const require = createRequire(import.meta.url);
let encoding: Encoding | undefined;
let split: RegExp | undefined;
function load(): { encoding: Encoding; split: RegExp } {
  encoding ??= require('gpt-tokenizer/encoding/o200k_base') as Encoding;
  split ??= new RegExp((require('gpt-tokenizer/encodingParams/constants') as { O200K_TOKEN_SPLIT_REGEX: RegExp }).O200K_TOKEN_SPLIT_REGEX.source, 'gu');
  return { encoding, split: split! };
}

export const isHighSurrogate = (c: number) => c >= 0xd800 && c <= 0xdbff;

/** The tokenizer's own count, for texts with no piece over MAX_PIECE (tests compare against it). */
export function referenceCount(text: string): number {
  return load().encoding.countTokens(text, AS_TEXT);
}

/**
 * Tokens of one text; once the running total passes `limit` counting stops, and the total so far
 * (more than `limit`, less than the whole) is returned.
 */
export function countText(text: string, limit = Infinity, already = 0): number {
  const { encoding, split } = load();
  // The usual case (a message, a short prompt): one call, the tokenizer's own count.
  if (text.length <= SEGMENT && !LONG_RUN.test(text)) return already + encoding.countTokens(text, AS_TEXT);
  let total = already;
  let start = 0; // first character not yet counted
  split.lastIndex = 0;
  for (let m = split.exec(text); m !== null; m = split.exec(text)) {
    const piece = m[0];
    const end = m.index + piece.length;
    if (piece.length > MAX_PIECE) {
      if (m.index > start) total += encoding.countTokens(text.slice(start, m.index), AS_TEXT);
      for (let i = 0; i < piece.length && total <= limit;) {
        // A slice never ends between the two halves of a surrogate pair (an emoji, say).
        let j = Math.min(i + MAX_PIECE, piece.length);
        if (j < piece.length && isHighSurrogate(piece.charCodeAt(j - 1))) j--;
        total += encoding.countTokens(piece.slice(i, j), AS_TEXT);
        i = j;
      }
      start = end;
    } else if (end - start >= SEGMENT && (ENDS_IN_TEXT.test(piece) || end - start >= 4 * SEGMENT)) {
      total += encoding.countTokens(text.slice(start, end), AS_TEXT);
      start = end;
    }
    if (total > limit) return total;
  }
  if (start < text.length) total += encoding.countTokens(start === 0 ? text : text.slice(start), AS_TEXT);
  return total;
}

/** Tokens of a prompt made of several texts (a chat's messages, names, tool calls…), with a limit. */
export function countTexts(texts: readonly string[], limit = Infinity): number {
  let total = 0;
  for (const t of texts) {
    total = countText(t, limit, total);
    if (total > limit) break;
  }
  return total;
}
