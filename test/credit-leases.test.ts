// Credit leases: after one database reservation with a top-up, similar requests are admitted from
// memory; near a limit the lease reserves each request exactly; what a request did not use goes
// back to the lease, and idle spare goes back to the database.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CreditLeases } from '../src/billing/credit-leases.js';
import type { Release, Reservation, ReserveOutcome } from '../src/store/billing-repo.js';

const r: Reservation = { accountId: 'a', keyId: 'k', period: '2026-11', amountNanos: 100, prepaid: true, accountCapNanos: null, keyCapNanos: null };

/** A database with `balance` nanos: records every reservation and release it receives. */
function fakeDatabase(balance: number) {
  const db = {
    balance,
    reserves: [] as number[],
    releases: [] as number[],
    reserve: async (x: Reservation): Promise<ReserveOutcome> => {
      db.reserves.push(x.amountNanos);
      if (x.amountNanos > db.balance) return 'insufficient_credits';
      db.balance -= x.amountNanos;
      return 'ok';
    },
    release: async (items: Release[]) => {
      for (const i of items) {
        db.releases.push(i.amountNanos);
        db.balance += i.amountNanos;
      }
    },
  };
  return db;
}

test('one database reservation admits the next 32 similar requests from memory', async () => {
  const db = fakeDatabase(1_000_000);
  const leases = new CreditLeases('h', db.reserve, db.release);
  try {
    for (let i = 0; i < 33; i++) assert.equal(await leases.hold({ ...r }), 'ok');
    assert.deepEqual(db.reserves, [100 * 33], 'the first request reserved its own amount plus a top-up for 32 more');
    assert.equal(await leases.hold({ ...r }), 'ok');
    assert.equal(db.reserves.length, 2, 'the 34th needed a new reservation');
    // Everything handed out was reserved first: never more in use than the database gave.
    assert.equal(1_000_000 - db.balance, 100 * 33 * 2);
  } finally {
    leases.stop();
  }
});

test('near the limit a refused top-up falls back to exact reservations, and never overdraws', async () => {
  const db = fakeDatabase(250);
  const leases = new CreditLeases('h', db.reserve, db.release);
  try {
    const outcomes = await Promise.all(Array.from({ length: 5 }, () => leases.hold({ ...r })));
    assert.deepEqual(outcomes.filter((o) => o === 'ok').length, 2, '250 covers two requests of 100');
    assert.ok(db.balance >= 0 && db.balance === 50);
    const before = db.reserves.length;
    assert.equal(await leases.hold({ ...r }), 'insufficient_credits');
    assert.deepEqual(db.reserves.slice(before), [100], 'lean: no top-up is asked for again right after a refusal');
  } finally {
    leases.stop();
  }
});

test('what a request did not use returns to the lease; giveBack returns the spare to the database', async () => {
  const db = fakeDatabase(1_000_000);
  const leases = new CreditLeases('h', db.reserve, db.release);
  try {
    await leases.hold({ ...r });
    assert.equal(leases.settle(r, 100, 30), 30, 'the ledger row settles what it cost');
    assert.equal(leases.settle(r, 0, 0), 0);
    // Spare: the 3200 top-up plus 70 unused.
    await leases.giveBack();
    assert.deepEqual(db.releases, [3_270]);
    assert.equal(1_000_000 - db.balance, 30, 'only the cost stays taken');
    // A cost above what was held: only the held part settles against the reservation.
    await leases.hold({ ...r });
    assert.equal(leases.settle(r, 100, 150), 100);
  } finally {
    leases.stop();
  }
});

test('giveBack with a cutoff returns the spare of idle leases only', async () => {
  const db = fakeDatabase(1_000_000);
  const leases = new CreditLeases('h', db.reserve, db.release);
  try {
    await leases.hold({ ...r }, Date.now() - 5_000);
    await leases.hold({ ...r, keyId: 'busy' });
    await leases.giveBack(Date.now() - 2_000);
    assert.deepEqual(db.releases, [3_200], 'the idle lease gave back its top-up; the busy one kept its own');
  } finally {
    leases.stop();
  }
});
