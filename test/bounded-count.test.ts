// Token counting is exact on ordinary text and stops at its limit: a property test against the
// tokenizer itself on texts where both apply (no pre-tokenized piece longer than MAX_PIECE).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { countText, countTexts, MAX_PIECE, referenceCount } from '../src/tokenize/bounded-count.js';
import { mulberry32 } from '../src/sim/rng.js';

/** A small seeded generator, so a failure names a reproducible case. */

const WORDS = ['the', 'Quick', 'brown', 'FOX', "don't", 'naïve', 'café', '数字', '日本語の文章', 'Привет', 'مرحبا', '😀', '🎉🎉', '1234567', '3.14', '!!', '?', '—', '()', '{"a":1}', 'x'.repeat(40), 'é'.repeat(30), '\t', '<|endoftext|>', 'a\u0301'];
const GAPS = [' ', ' ', ' ', '  ', '\n', '\n\n', ' \n', '\t', ', ', '. ', ''];

/** Ordinary text: words and separators, no run long enough to make a piece over MAX_PIECE. */
function ordinaryText(next: () => number, words: number): string {
  let s = '';
  for (let i = 0; i < words; i++) s += WORDS[Math.floor(next() * WORDS.length)]! + GAPS[Math.floor(next() * GAPS.length)]!;
  return s.replace(new RegExp(`\\S{${MAX_PIECE},}`, 'g'), (run) => run.slice(0, MAX_PIECE - 1));
}

test('ordinary text is counted exactly as the tokenizer counts it, short and long (segmented)', () => {
  const next = mulberry32(Number(process.env.SLUICE_TEST_SEED ?? 7));
  for (let i = 0; i < 300; i++) {
    const text = ordinaryText(next, 1 + Math.floor(next() * (i % 10 === 0 ? 6000 : 60)));
    assert.equal(countText(text), referenceCount(text), `case ${i}: ${JSON.stringify(text.slice(0, 80))}… (${text.length} chars)`);
  }
});

test('special tokens in a prompt are plain text, not an error', () => {
  // As a special token it would be one; as text it is its pieces (<, |, endo, ftext, |, >).
  assert.ok(countText('<|endoftext|>') >= 3);
  assert.equal(countText('<|endoftext|>'), referenceCount('<|endoftext|>'));
});

test('a limit stops counting once passed; under it the count is exact', () => {
  const text = 'hello world '.repeat(50_000); // 100,000 tokens
  const full = countText(text);
  assert.equal(countText(text, full), full, 'exact at the limit');
  const stopped = countText(text, 1000);
  assert.ok(stopped > 1000 && stopped < full / 2, `stopped at ${stopped} of ${full}`);
  const prompt = countTexts(['a b c', 'd e f', text], 10);
  assert.ok(prompt > 10 && prompt < full, 'a prompt of several texts stops too');
  assert.equal(countTexts(['a b c', 'd e f']), countText('a b c') + countText('d e f'));
});
