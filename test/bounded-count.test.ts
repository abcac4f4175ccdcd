// Token counting is linear in its input and exact on ordinary text: a property test against the
// tokenizer itself on texts where both apply (no pre-tokenized piece longer than MAX_PIECE).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { countText, countTexts, MAX_PIECE, referenceCount } from '../src/tokenize/bounded-count.js';

/** A small seeded generator, so a failure names a reproducible case. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

const WORDS = ['the', 'Quick', 'brown', 'FOX', "don't", 'naïve', 'café', '数字', '日本語の文章', 'Привет', 'مرحبا', '😀', '🎉🎉', '1234567', '3.14', '!!', '?', '—', '()', '{"a":1}', 'x'.repeat(40), 'é'.repeat(30), '\t', '<|endoftext|>', 'a\u0301'];
const GAPS = [' ', ' ', ' ', '  ', '\n', '\n\n', ' \n', '\t', ', ', '. ', ''];

/** Ordinary text: words and separators, no run long enough to make a piece over MAX_PIECE. */
function ordinaryText(next: () => number, words: number): string {
  let s = '';
  for (let i = 0; i < words; i++) s += WORDS[Math.floor(next() * WORDS.length)]! + GAPS[Math.floor(next() * GAPS.length)]!;
  return s.replace(new RegExp(`\\S{${MAX_PIECE},}`, 'g'), (run) => run.slice(0, MAX_PIECE - 1));
}

test('ordinary text is counted exactly as the tokenizer counts it, short and long (segmented)', () => {
  const next = rng(Number(process.env.SLUICE_TEST_SEED ?? 7));
  for (let i = 0; i < 300; i++) {
    const text = ordinaryText(next, 1 + Math.floor(next() * (i % 10 === 0 ? 6000 : 60)));
    assert.equal(countText(text), referenceCount(text), `case ${i}: ${JSON.stringify(text.slice(0, 80))}… (${text.length} chars)`);
  }
});

test('special tokens in a prompt are plain text, not an error', () => {
  assert.ok(countText('<|endoftext|> and <|im_start|>') > 2);
});

test('hostile shapes: every token covers at least a byte, and long shapes cost linear time', () => {
  const shapes: Record<string, (n: number) => string> = {
    'one long word': (n) => 'a'.repeat(n),
    'capitals': (n) => 'A'.repeat(n),
    'digits': (n) => '7'.repeat(n),
    'punctuation': (n) => '!@#$%^&*'.repeat(n / 8),
    'spaces': (n) => ' '.repeat(n),
    'newlines after punctuation': (n) => '!\n'.repeat(n / 2),
    'CJK without punctuation': (n) => '中文字符测试'.repeat(n / 6),
    'emoji': (n) => '😀🎉'.repeat(n / 4),
    'combining marks': (n) => 'a\u0301'.repeat(n / 2),
    'base64': (n) => Buffer.alloc((n * 3) / 4, 'xyz\u00ff').toString('base64'),
  };
  /** The fastest of three runs: timer and GC noise only ever add time. */
  const fastest = (text: string) => Math.min(...[0, 1, 2].map(() => {
    const t0 = performance.now();
    countText(text);
    return performance.now() - t0;
  }));
  for (const [name, make] of Object.entries(shapes)) {
    const small = make(24_000);
    const large = make(96_000);
    assert.ok(countText(small) <= Buffer.byteLength(small) && countText(large) <= Buffer.byteLength(large), `${name}: never more tokens than bytes`);
    const [a, b] = [fastest(small), fastest(large)];
    // Quadratic work takes 16× as long for 4× the input (seconds, for 96,000 letters); linear ~4×.
    // The floor keeps sub-millisecond runs from deciding.
    assert.ok(b < Math.max(25, 10 * a), `${name}: 4× the input took ${b.toFixed(1)} ms against ${a.toFixed(1)} ms`);
  }
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
