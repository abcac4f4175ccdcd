// The rate-limit algorithm with a fake clock: a fresh limit's whole allowance at once and never
// more, steady refill, no double burst at a minute boundary, token spends that never fit, and
// reservations corrected to real usage. Several limits are decided together: a refusal spends
// nothing anywhere.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryLimiter, type LimitCheck } from '../src/limits/memory-limiter.js';
import { mulberry32 } from '../src/sim/rng.js';

function clock(start = 1_800_000_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}
const rpm = (perMinute: number, key = 'key:k:requests'): LimitCheck => ({ key, kind: 'requests', scope: 'key', perMinute, cost: 1 });

test('a fresh limit allows its whole allowance at once and not one more; then one a second at rpm 60', () => {
  const c = clock();
  const l = new MemoryLimiter(c.now);
  for (let i = 0; i < 60; i++) assert.equal(l.take([rpm(60)]).allowed, true, `request ${i + 1}`);
  const refused = l.take([rpm(60)]);
  assert.equal(refused.allowed, false);
  assert.equal(refused.verdicts[0]!.retryAfterMs, 1000, 'the advised wait is the real one');
  assert.equal(refused.verdicts[0]!.remaining, 0);
  c.advance(999);
  assert.equal(l.take([rpm(60)]).allowed, false, 'not before the wait');
  c.advance(1);
  const again = l.take([rpm(60)]);
  assert.equal(again.allowed, true, 'after it');
  assert.equal(again.verdicts[0]!.resetMs, 60_000, 'full again a minute after the last spend');
  c.advance(60_000);
  assert.equal(l.take([rpm(60)]).verdicts[0]!.remaining, 59, 'full after a quiet minute');
});

test('no double burst: in any stretch of d ms at most L + d/T requests pass, whatever the arrivals', () => {
  const next = mulberry32(9);
  for (const perMinute of [10, 60, 600]) {
    const c = clock();
    const l = new MemoryLimiter(c.now);
    const allowed: number[] = [];
    for (let i = 0; i < 5000; i++) {
      c.advance(Math.floor(next() * (next() < 0.1 ? 5_000 : 60)));
      if (l.take([rpm(perMinute)]).allowed) allowed.push(c.now());
    }
    const t = 60_000 / perMinute;
    for (let i = 0; i < allowed.length; i++) {
      for (let j = i; j < allowed.length && allowed[j]! - allowed[i]! <= 120_000; j++) {
        const d = allowed[j]! - allowed[i]!;
        assert.ok(j - i + 1 <= perMinute + d / t + 1e-9, `${perMinute}/min: ${j - i + 1} in ${d} ms`);
      }
    }
    // A fixed window would allow 2L around its boundary: 2 × 60 within 2 seconds. Not here.
  }
});

test('tokens: a spend larger than the limit never fits and says so; smaller ones wait their turn', () => {
  const c = clock();
  const l = new MemoryLimiter(c.now);
  const tpm = (cost: number): LimitCheck => ({ key: 'key:k:tokens', kind: 'tokens', scope: 'key', perMinute: 6000, cost });
  const huge = l.take([tpm(6001)]);
  assert.equal(huge.allowed, false);
  assert.equal(huge.verdicts[0]!.neverFits, true);
  assert.equal(l.take([tpm(6000)]).allowed, true, 'the refusal spent nothing');
  const wait = l.take([tpm(600)]);
  assert.equal(wait.allowed, false);
  assert.equal(wait.verdicts[0]!.neverFits, false);
  assert.equal(wait.verdicts[0]!.retryAfterMs, 6000, '600 tokens at 100 a second');
});

test('a reservation corrected to real usage gives back what was not used, never past full', () => {
  const c = clock();
  const l = new MemoryLimiter(c.now);
  const check: LimitCheck = { key: 'key:k:tokens', kind: 'tokens', scope: 'key', perMinute: 6000, cost: 5000 };
  assert.equal(l.take([check]).allowed, true);
  l.correct([check], -4900); // it used 100
  assert.equal(l.take([{ ...check, cost: 5900 }]).allowed, true, '100 + 5900 fit the minute');
  l.correct([{ ...check, cost: 5900 }], -100_000);
  assert.equal(l.take([{ ...check, cost: 1 }]).verdicts[0]!.remaining, 5999, 'a refund never makes it fuller than full');
  l.correct([check], 3000); // used more than it reserved: the rest is charged after the fact
  assert.equal(l.take([{ ...check, cost: 3000 }]).allowed, false);
});

test('limits are decided together: when one refuses, none is spent', () => {
  const c = clock();
  const l = new MemoryLimiter(c.now);
  const key = rpm(100, 'key:k:requests');
  const account = rpm(2, 'account:a:requests');
  assert.equal(l.take([key, account]).allowed, true);
  assert.equal(l.take([key, account]).allowed, true);
  const third = l.take([key, account]);
  assert.equal(third.allowed, false);
  assert.deepEqual(third.verdicts.map((v) => v.allowed), [true, false], 'the account limit decided');
  assert.equal(l.take([key]).verdicts[0]!.remaining, 97, 'the refused request took nothing from the key');
});
