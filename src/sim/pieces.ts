// Splits text the simulator did not generate word by word (JSON answers, tool-call arguments) into
// token-like pieces, as a BPE pre-tokenizer would: a word or a run of up to three digits or three
// punctuation marks, each with the space before it. Counting the pieces gives completion_tokens,
// and a stream sends one piece per chunk, like the generated text.

// The `u` flag keeps a character outside the BMP whole, so no piece holds half a surrogate pair.
const PIECE = /\s?\p{L}+|\s?\p{N}{1,3}|\s?[^\s\p{L}\p{N}]{1,3}|\s+/gu;

export function splitPieces(text: string): string[] {
  return text.match(PIECE) ?? [];
}
