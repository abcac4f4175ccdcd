// The request path's cancellation: listeners, late listeners, undo, and the AbortSignal view.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Cancellation } from '../src/server/cancellation.js';

test('listeners hear the reason once; undone ones do not; late ones hear it at once', () => {
  const c = new Cancellation();
  const heard: unknown[] = [];
  c.onAbort((r) => heard.push(['a', r]));
  const undo = c.onAbort((r) => heard.push(['b', r]));
  undo();
  const reason = new Error('client left');
  c.abort(reason);
  c.abort(new Error('second'));
  assert.deepEqual([...heard], [['a', reason]]);
  assert.equal(c.aborted, true);
  assert.equal(c.reason, reason);
  c.onAbort((r) => heard.push(['late', r]));
  assert.deepEqual(heard.at(-1), ['late', reason] as unknown[]);
});

test('the AbortSignal view follows, whether made before or after the abort', () => {
  const before = new Cancellation();
  const signal = before.signal;
  assert.equal(signal.aborted, false);
  before.abort('timeout');
  assert.equal(signal.aborted, true);
  assert.equal(signal.reason, 'timeout');
  const after = new Cancellation();
  after.abort('gone');
  assert.equal(after.signal.aborted, true);
  assert.equal(after.signal.reason, 'gone');
});
