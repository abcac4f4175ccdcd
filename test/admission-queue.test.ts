// The admission queue with a fake clock: priority order and first come first served within a
// class, per-class and total bounds, eviction of the newest lower-class waiter, waits that time
// out, clients that leave, and retry advice from the measured drain rate.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AdmissionQueue, type AdmissionOptions, type Release } from '../src/admission/admission-queue.js';
import { GatewayError } from '../src/errors/gateway-error.js';
import { ClientClosed } from '../src/server/context.js';
import { Cancellation } from '../src/server/cancellation.js';

/** Every test runs on mock timers: waiters left at its end never fire. */
function setup(o: Partial<AdmissionOptions> = {}, limit = 1) {
  let now = 0;
  const shed: string[] = [];
  const q = new AdmissionQueue({
    limit: () => limit,
    maxQueue: 100,
    classes: { critical: { maxLength: 10, maxWaitMs: 30_000 }, standard: { maxLength: 10, maxWaitMs: 10_000 }, batch: { maxLength: 10, maxWaitMs: 2_000 } },
    now: () => now,
    ...o,
  }, { shed: (p, code) => shed.push(`${p}:${code}`) });
  return { q, shed, advance: (ms: number) => (now += ms) };
}

/** A queued acquire, with what became of it. */
function queued(q: AdmissionQueue, priority: 'critical' | 'standard' | 'batch', name: string, order: string[], cancel?: Cancellation) {
  const r = q.acquire(priority, cancel);
  assert.ok(r instanceof Promise, `${name} waits`);
  const state: { release?: Release; error?: unknown } = {};
  void r.then((release) => {
    order.push(name);
    state.release = release;
  }, (error: unknown) => (state.error = error));
  return state;
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

test('a free slot is taken at once, without a promise; a release is given back once only', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const { q } = setup({}, 2);
  const a = q.acquire('batch');
  const b = q.acquire('batch');
  assert.equal(typeof a, 'function');
  assert.equal(typeof b, 'function');
  assert.equal(q.running, 2);
  (a as Release)();
  (a as Release)();
  assert.equal(q.running, 1, 'a second release of the same slot does nothing');
});

test('critical before standard before batch, first come first served within a class', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const { q } = setup();
  const held = q.acquire('standard') as Release;
  const order: string[] = [];
  const waiters: Record<string, { release?: Release }> = {
    b1: queued(q, 'batch', 'b1', order),
    s1: queued(q, 'standard', 's1', order),
    c1: queued(q, 'critical', 'c1', order),
    s2: queued(q, 'standard', 's2', order),
  };
  assert.equal(q.queued(), 4);
  // One slot: each release admits the next waiter, whose own release admits the one after.
  let release = held;
  for (let i = 0; i < 4; i++) {
    release();
    await tick();
    release = waiters[order[i]!]!.release!;
  }
  assert.deepEqual(order, ['c1', 's1', 's2', 'b1']);
});

test("a class's maxLength bounds its waiters: the next is refused with server_overloaded", (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const { q, shed } = setup({ classes: { critical: { maxLength: 5, maxWaitMs: 1000 }, standard: { maxLength: 1, maxWaitMs: 1000 }, batch: { maxLength: 5, maxWaitMs: 1000 } } });
  q.acquire('standard');
  queued(q, 'standard', 's1', []);
  assert.throws(() => q.acquire('standard'), (e: unknown) => e instanceof GatewayError && e.code === 'server_overloaded' && (e.retryAfterMs ?? 0) > 0);
  assert.equal(queued(q, 'critical', 'c1', []).error, undefined, 'another class still has room');
  assert.deepEqual(shed, ['standard:server_overloaded']);
});

test('with maxQueue reached, an arrival with room in its class evicts the newest lower-class waiter', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const { q, shed } = setup({ maxQueue: 3 });
  q.acquire('standard');
  const order: string[] = [];
  const b1 = queued(q, 'batch', 'b1', order);
  const b2 = queued(q, 'batch', 'b2', order);
  const s1 = queued(q, 'standard', 's1', order);
  const c1 = queued(q, 'critical', 'c1', order);
  await tick();
  assert.ok(b2.error instanceof GatewayError && b2.error.code === 'server_overloaded', 'the newest batch waiter made room');
  assert.equal(b1.error, undefined);
  assert.equal(q.queued(), 3);
  assert.throws(() => q.acquire('batch'), (e: unknown) => e instanceof GatewayError && e.code === 'server_overloaded', 'nothing below batch to evict');
  const s2 = queued(q, 'standard', 's2', order);
  await tick();
  assert.ok((b1.error as unknown) instanceof GatewayError, 'then the other batch waiter');
  assert.deepEqual(shed, ['batch:server_overloaded', 'batch:server_overloaded', 'batch:server_overloaded']);
  assert.equal(s1.error ?? c1.error ?? s2.error, undefined);
});

test('a waiter past its class maxWaitMs gets queue_timeout and leaves the queue', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const { q, shed } = setup();
  q.acquire('critical');
  const b = queued(q, 'batch', 'b', []);
  const s = queued(q, 'standard', 's', []);
  t.mock.timers.tick(2_000);
  await Promise.resolve();
  await Promise.resolve();
  assert.ok(b.error instanceof GatewayError && b.error.code === 'queue_timeout', 'batch waits 2 s at most');
  assert.equal(s.error, undefined, 'standard may wait 10 s');
  assert.equal(q.queued(), 1);
  assert.deepEqual(shed, ['batch:queue_timeout']);
});

test('a client that leaves while queued is out of the queue at once and holds nothing', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const { q } = setup();
  const held = q.acquire('critical') as Release;
  const gone = new Cancellation();
  const w = queued(q, 'standard', 'w', [], gone);
  gone.abort(new ClientClosed());
  await tick();
  assert.ok(w.error instanceof ClientClosed);
  assert.equal(q.queued(), 0);
  held();
  assert.equal(q.running, 0, 'the slot was not handed to the one who left');
});

test('retry advice is the time the queue ahead takes to drain at the measured rate', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const { q, advance } = setup({}, 4);
  // Four in service, finishing one every 100 ms: 10 a second.
  const slots = [0, 1, 2, 3].map(() => q.acquire('standard') as Release);
  for (const s of slots) {
    advance(100);
    s();
  }
  for (let i = 0; i < 4; i++) q.acquire('standard');
  for (let i = 0; i < 4; i++) queued(q, 'standard', `w${i}`, []);
  const advice = q.retryAfterMs();
  // Four ahead plus this one, at about ten a second: about half a second.
  assert.ok(advice >= 400 && advice <= 600, `advice ${advice} ms`);
});

test('a closed gate (the engine saturated) holds requests despite free slots; wake() lets them in, by class', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  let open = false;
  const { q } = setup({ open: () => open }, 4);
  const order: string[] = [];
  const b = queued(q, 'batch', 'batch', order);
  const c = queued(q, 'critical', 'critical', order);
  q.wake();
  await tick();
  assert.deepEqual(order, [], 'nothing passes a closed gate');
  assert.equal(q.running, 0);
  open = true;
  q.wake();
  await tick();
  assert.deepEqual(order, ['critical', 'batch']);
  assert.equal(q.running, 2);
  c.release!();
  b.release!();
  assert.equal(typeof q.acquire('standard'), 'function', 'an open gate with free slots admits at once');
});

test('slots reserved for critical: standard and batch leave them free, a critical arrival takes one at once even with others queued', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const { q } = setup({ reserveCritical: 1 }, 3);
  const s1 = q.acquire('standard');
  const s2 = q.acquire('standard');
  assert.equal(typeof s1, 'function');
  assert.equal(typeof s2, 'function');
  const order: string[] = [];
  const waiting = queued(q, 'batch', 'batch', order);
  await tick();
  assert.deepEqual(order, [], 'the last slot is kept for critical');
  const c = q.acquire('critical');
  await tick();
  // Queued behind the batch waiter, yet admitted at once into the reserved slot.
  const release = c instanceof Promise ? await c : c;
  assert.equal(q.running, 3);
  assert.deepEqual(order, []);
  release();
  (s1 as Release)();
  await tick();
  assert.deepEqual(order, ['batch'], 'with two slots free, batch gets one and one stays reserved');
  waiting.release!();
});

test('a waiter whose wait is over when a slot frees is shed with queue_timeout, not admitted late', async (t) => {
  // No mock timers: the timeout timer must not run before the release does, as on a busy loop.
  const { q, shed, advance } = setup({}, 1);
  const first = q.acquire('standard') as Release;
  const order: string[] = [];
  const late = queued(q, 'batch', 'late', order);
  advance(2_000); // the batch class's whole wait, on the queue's clock
  first();
  await tick();
  assert.deepEqual(order, []);
  assert.ok(late.error instanceof GatewayError && late.error.code === 'queue_timeout', String(late.error));
  assert.deepEqual(shed, ['batch:queue_timeout']);
  assert.equal(q.running, 0);
});
