// Retention of stored responses: the sweeper deletes expired ones in bounded batches, keeps going
// after a failure (logged, never thrown), stops cleanly; the gateway runs it from start to close.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLogger } from '../src/observability/logger.js';
import { ResponsesSweeper } from '../src/store/responses-sweeper.js';
import { responseExpiry, type StoredResponse } from '../src/store/responses-repo.js';
import { startTestGateway } from './helpers/gateway.js';

/** A logger whose lines are kept, parsed. */
function capturedLogger() {
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger('info', { write: (s: string) => { for (const l of s.split('\n')) if (l) lines.push(JSON.parse(l)); } });
  return { logger, lines };
}

/** A repo holding `expired` expired responses: each call deletes up to `limit`, and says with what. */
function fakeRepo(expired: number, fail?: (call: number) => boolean) {
  const calls: Array<{ now: string; limit: number }> = [];
  return {
    calls,
    get left() {
      return expired;
    },
    async deleteExpired(now: string, limit = 1_000): Promise<number> {
      calls.push({ now, limit });
      if (fail?.(calls.length)) throw new Error('database is locked');
      const n = Math.min(expired, limit);
      expired -= n;
      return n;
    },
  };
}

test('a sweep deletes in batches until fewer than a batch are left, with the clock it is given', async () => {
  const repo = fakeRepo(25);
  const { logger, lines } = capturedLogger();
  const sweeper = new ResponsesSweeper(repo, logger, { batch: 10, now: () => Date.parse('2030-01-01T00:00:00Z') });
  assert.equal(await sweeper.sweep(), 25);
  assert.deepEqual(repo.calls, [10, 10, 10].map((limit) => ({ now: '2030-01-01T00:00:00.000Z', limit })));
  assert.equal(await sweeper.sweep(), 0);
  logger.flush();
  assert.equal(lines.filter((l) => l.msg === 'stored responses: deleted expired').length, 1, 'one line per sweep that deleted something');
});

test('a sweep stops at maxPerSweep; the next one follows after catchUpMs instead of the interval', async () => {
  const repo = fakeRepo(100);
  const sweeper = new ResponsesSweeper(repo, createLogger('silent'), { batch: 10, maxPerSweep: 30, firstDelayMs: 0, catchUpMs: 5, intervalMs: 60_000 });
  assert.equal(await sweeper.sweep(), 30);
  assert.equal(repo.left, 70);
  sweeper.start();
  const deadline = Date.now() + 5_000;
  while (repo.left > 0 && Date.now() < deadline) await sleep(5);
  await sweeper.stop();
  assert.equal(repo.left, 0, 'caught up without waiting for the interval');
});

test('a failed sweep is logged, not thrown, and the next one runs; stop waits for a running sweep and ends the timers', async () => {
  let gate: (() => void) | undefined;
  const repo = fakeRepo(1_000, (call) => call === 1);
  const slow = {
    async deleteExpired(now: string, limit?: number) {
      if (repo.calls.length === 2) await new Promise<void>((resolve) => (gate = resolve));
      return repo.deleteExpired(now, limit);
    },
  };
  const { logger, lines } = capturedLogger();
  const sweeper = new ResponsesSweeper(slow, logger, { batch: 10, firstDelayMs: 0, intervalMs: 5 });
  sweeper.start();
  const deadline = Date.now() + 5_000;
  while (!gate && Date.now() < deadline) await sleep(2);
  assert.ok(gate, 'a second sweep ran after the first failed');
  logger.flush();
  const failed = lines.find((l) => l.level === 50);
  assert.equal(failed?.msg, 'stored responses: retention sweep failed; trying again at the next one');
  assert.match(String((failed?.err as { message?: string })?.message), /database is locked/);
  let stopped = false;
  const stopping = sweeper.stop().then(() => (stopped = true));
  await sleep(20);
  assert.equal(stopped, false, 'stop waits for the batch under way');
  gate!();
  await stopping;
  const calls = repo.calls.length;
  await sleep(50);
  assert.equal(repo.calls.length, calls, 'no sweep after stop');
  assert.equal(calls, 3, 'the sweep under way ended after its batch');
});

test('the gateway sweeps expired responses of its store from start on, and stops sweeping before its store is closed', async () => {
  const { logger, lines } = capturedLogger();
  const gw = await startTestGateway({ logLevel: 'info' }, { logger, responsesSweeper: { firstDelayMs: 10, intervalMs: 20 } });
  let closed = false;
  try {
    const saved = (id: string, expiresAt: string): StoredResponse => ({
      id, accountId: 'tester', model: 'test-chat', previousResponseId: null, createdAt: new Date(Date.now() - 1_000).toISOString(), expiresAt,
      response: { id, object: 'response', output: [] }, inputItems: [{ id: `msg_${id}`, type: 'message', role: 'user', content: 'hi' }], outputItems: [],
    });
    for (let i = 0; i < 5; i++) await gw.store.responses.save(saved(`resp_gone${i}`, new Date(Date.now() - 1).toISOString()));
    await gw.store.responses.save(saved('resp_kept', responseExpiry(Date.now(), gw.config.responses.retentionDays)));
    const ids = async () => (await gw.store.db.selectFrom('responses').select('id').execute()).map((r) => r.id);
    const deadline = Date.now() + 5_000;
    while ((await ids()).length > 1 && Date.now() < deadline) await sleep(10);
    assert.deepEqual(await ids(), ['resp_kept']);
    assert.equal((await gw.store.db.selectFrom('response_items').select('item_id').execute()).length, 1);
    assert.equal(gw.config.responses.retentionDays, 30);
    await gw.close();
    closed = true;
    await sleep(100);
    logger.flush();
    assert.deepEqual(lines.filter((l) => Number(l.level) >= 50), [], 'no sweep ran against the closed store');
    assert.ok(lines.some((l) => l.msg === 'stored responses: deleted expired' && l.deleted === 5));
  } finally {
    if (!closed) await gw.close();
  }
});
