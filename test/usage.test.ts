// An engine's usage is believed only when its counts are finite, non-negative numbers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toUsage } from '../src/engines/openai/stream-event.js';

test('usage with real counts is read; a missing completion count is 0 and a missing total is the sum', () => {
  assert.deepEqual(toUsage({ prompt_tokens: 9, completion_tokens: 16, total_tokens: 25 }), { prompt_tokens: 9, completion_tokens: 16, total_tokens: 25 });
  assert.deepEqual(toUsage({ prompt_tokens: 9 }), { prompt_tokens: 9, completion_tokens: 0, total_tokens: 9 });
  assert.deepEqual(toUsage({ prompt_tokens: 9, completion_tokens: 1, total_tokens: 'x' }), { prompt_tokens: 9, completion_tokens: 1, total_tokens: 10 });
});

test('anything else is no usage: never NaN, a string or a negative count on the ledger or in metrics', () => {
  for (const bad of [null, undefined, 5, 'usage', {}, { prompt_tokens: '9' }, { prompt_tokens: 9, completion_tokens: '16' }, { prompt_tokens: Number.NaN }, { prompt_tokens: 9, completion_tokens: -1 }, { prompt_tokens: Infinity }]) {
    assert.equal(toUsage(bad), undefined, JSON.stringify(bad));
  }
});
