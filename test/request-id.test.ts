// Request ids: the contract's format, unique, and in time order (the ledger's index relies on it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newRequestId } from '../src/server/request-id.js';

test('request ids are req_ + 32 hex, unique, ordered by time, and random after the time part', async () => {
  const first = Array.from({ length: 5_000 }, () => newRequestId());
  for (const id of first) assert.match(id, /^req_[0-9a-f]{32}$/);
  assert.equal(new Set(first).size, first.length);
  await new Promise((r) => setTimeout(r, 5));
  const later = newRequestId();
  assert.ok(first.every((id) => id < later), 'a later id sorts after every earlier one');
  const stamp = Number.parseInt(later.slice(4, 16), 16);
  assert.ok(Math.abs(stamp - Date.now()) < 1_000, 'the first 12 hex digits are the time in ms');
  const randomParts = new Set(first.map((id) => id.slice(16)));
  assert.equal(randomParts.size, first.length, 'the random part alone is unique');
});
