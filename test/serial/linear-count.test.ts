// Token counting costs time linear in its input whatever the input's shape. In test/serial: it
// compares timings, which other test files running at once on two cores would blur.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { countText } from '../../src/tokenize/bounded-count.js';

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

