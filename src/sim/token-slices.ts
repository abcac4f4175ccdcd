// The pieces a text is tokenized in, so that tokenizing costs time linear in the text whatever its
// shape: exactly the cuts src/tokenize/bounded-count.ts counts in (see there why each cut is where
// it is). The simulator needs the token ids, not just their number, for its prefix cache; cutting
// where the gateway's counter cuts makes the number of those ids equal the gateway's count, so one
// pass gives both (test/sim-prefix-cache.test.ts checks the equality on hostile shapes).
import { createRequire } from 'node:module';
import { ENDS_IN_TEXT, isHighSurrogate, LONG_RUN, MAX_PIECE, SEGMENT } from '../tokenize/bounded-count.js';

const require = createRequire(import.meta.url);
let splitSource: string | undefined;

/** Calls `take` with each slice of `text`, in order; together they are the whole text. */
export function forEachSlice(text: string, take: (slice: string) => void): void {
  if (text.length <= SEGMENT && !LONG_RUN.test(text)) {
    take(text);
    return;
  }
  splitSource ??= (require('gpt-tokenizer/encodingParams/constants') as { O200K_TOKEN_SPLIT_REGEX: RegExp }).O200K_TOKEN_SPLIT_REGEX.source;
  // A regex of its own per text: `take` may run another walk, which must not move this one's lastIndex.
  const split = new RegExp(splitSource, 'gu');
  let start = 0; // first character not yet taken
  for (let m = split.exec(text); m !== null; m = split.exec(text)) {
    const piece = m[0];
    const end = m.index + piece.length;
    if (piece.length > MAX_PIECE) {
      if (m.index > start) take(text.slice(start, m.index));
      for (let i = 0; i < piece.length;) {
        let j = Math.min(i + MAX_PIECE, piece.length);
        if (j < piece.length && isHighSurrogate(piece.charCodeAt(j - 1))) j--;
        take(piece.slice(i, j));
        i = j;
      }
      start = end;
    } else if (end - start >= SEGMENT && (ENDS_IN_TEXT.test(piece) || end - start >= 4 * SEGMENT)) {
      take(text.slice(start, end));
      start = end;
    }
  }
  if (start < text.length) take(start === 0 ? text : text.slice(start));
}
