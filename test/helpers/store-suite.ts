// One suite for the store interface, run against every backend (SQLite and PostgreSQL).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Migrator, sql, type Kysely } from 'kysely';
import { migrationProvider } from '../../src/store/migrations.js';
import type { Database } from '../../src/store/tables.js';
import { openStore } from '../../src/store/open.js';
import type { Store } from '../../src/store/store.js';
import type { Reservation } from '../../src/store/billing-repo.js';
import { AlreadyExists } from '../../src/store/accounts-repo.js';
import { usdToNanos } from '../../src/store/money.js';
import { ResponsesRepo, responseExpiry, type StoredResponse } from '../../src/store/responses-repo.js';
import type { RequestLogRow } from '../../src/store/request-log-repo.js';

export interface Backend {
  name: string;
  /** A fresh, empty store URL, or a skip reason. */
  url(): Promise<string | { skip: string }>;
  cleanup(url: string): Promise<void>;
  /** A connection to the store at `url` without migrations applied, to build an older schema. */
  unmigrated(url: string): Promise<{ db: Kysely<Database>; migrationTableSchema?: string }>;
}

const PERIOD = '2026-11';

function reservation(over: Partial<Reservation>): Reservation {
  return { accountId: 'a', keyId: 'k', period: PERIOD, amountNanos: 100, prepaid: false, accountCapNanos: null, keyCapNanos: null, ...over };
}

function ledgerRow(requestId: string, accountId: string, keyId: string, model = 'm', input = 10, output = 20) {
  return {
    request_id: requestId, account_id: accountId, key_id: keyId, model, deployment: 'd', endpoint: 'chat', status: 200, error_code: null,
    input_tokens: input, output_tokens: output, started_at: new Date().toISOString(), duration_ms: 1.5, first_byte_ms: null,
  };
}

/** A stored response as the Responses API would save it: items of every kind, text that JSON must escape. */
function storedResponse(id: string, accountId: string, over: Partial<StoredResponse> & { inputs?: number } = {}): StoredResponse {
  const createdMs = Date.parse(over.createdAt ?? new Date().toISOString());
  const { inputs = 2, ...rest } = over;
  const output = [
    { id: `fc_${id}`, type: 'function_call', status: 'completed', call_id: `call_${id}`, name: 'get_weather', arguments: '{"city":"Zürich"}' },
    { id: `msg_${id}_out`, type: 'message', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: `answer of ${id}: "quoted" \u2028 ✓ 🦀`, annotations: [] }] },
  ];
  const input: Array<Record<string, unknown>> = [
    { id: `msg_${id}_in`, type: 'message', role: 'user', status: 'completed', content: [{ type: 'input_text', text: `question ${id}; drop table responses; --` }] },
    { id: `fco_${id}`, type: 'function_call_output', call_id: `call_prev_${id}`, output: '{"temp":21}', status: 'completed' },
  ];
  for (let i = input.length; i < inputs; i++) input.push({ id: `msg_${id}_in${i}`, type: 'message', role: i % 2 ? 'assistant' : 'user', content: [{ type: 'input_text', text: `turn ${i}` }] });
  return {
    id,
    accountId,
    model: 'm',
    previousResponseId: null,
    createdAt: new Date(createdMs).toISOString(),
    expiresAt: responseExpiry(createdMs, 30),
    response: { id, object: 'response', created_at: Math.floor(createdMs / 1000), status: 'completed', model: 'm', output, usage: { input_tokens: 12, output_tokens: 7, total_tokens: 19 }, metadata: { k: 'v' } },
    inputItems: input.slice(0, inputs),
    outputItems: output,
    ...rest,
  };
}

export async function defineStoreSuite(backend: Backend): Promise<void> {
  const url = await backend.url();
  const skip = typeof url === 'string' ? false : url.skip;
  describe(`store on ${backend.name}`, { skip }, () => {
    let store: Store;
    before(async () => {
      store = await openStore(url as string);
    });
    after(async () => {
      await store.close();
      await backend.cleanup(url as string);
    });

    test('migrations are idempotent: opening again changes nothing', async () => {
      await store.accounts.create({ id: 'persist' });
      const again = await openStore(url as string);
      assert.equal((await again.accounts.get('persist'))?.id, 'persist');
      await again.close();
    });

    test('accounts: create, get, duplicate, update, credits', async () => {
      const a = await store.accounts.create({ id: 'acc1', verified: true, creditsNanos: usdToNanos(5), monthlyCapNanos: usdToNanos(100) });
      assert.deepEqual({ ...a, createdAt: '' }, { id: 'acc1', status: 'active', verified: true, plan: 'default', creditsNanos: 5e9, monthlyCapNanos: 1e11, limits: null, createdAt: '' });
      await assert.rejects(store.accounts.create({ id: 'acc1' }), AlreadyExists);
      const u = await store.accounts.update('acc1', { status: 'suspended', verified: false });
      assert.equal(u!.status, 'suspended');
      assert.equal(u!.verified, false);
      assert.equal((await store.accounts.addCredits('acc1', usdToNanos(2.5)))!.creditsNanos, 7.5e9);
      await store.accounts.create({ id: 'post' });
      assert.equal((await store.accounts.get('post'))!.creditsNanos, null, 'postpaid');
      assert.equal((await store.accounts.addCredits('post', 1000))!.creditsNanos, 1000, 'credits make it prepaid');
      assert.equal(await store.accounts.get('missing'), undefined);
    });

    test('keys: create, find by id and hash, list, revoke, touch; SQL-ish names are data', async () => {
      await store.accounts.create({ id: 'kacc' });
      const name = "x'); drop table api_keys; --";
      await store.keys.create({ id: 'key0000001', accountId: 'kacc', keyHash: 'h1', name, models: ['llama-*'], priority: 'batch', spendCapNanos: 5 });
      const k = await store.keys.findByHash('h1');
      assert.equal(k!.name, name);
      assert.deepEqual(k!.models, ['llama-*']);
      assert.equal(k!.priority, 'batch');
      assert.equal(k!.spendCapNanos, 5);
      assert.equal((await store.keys.findById('key0000001'))!.keyHash, 'h1');
      assert.equal(await store.keys.revoke('key0000001'), true);
      assert.equal(await store.keys.revoke('key0000001'), false, 'revoking twice changes nothing');
      await store.keys.touch('key0000001', '2026-11-22T00:00:00.000Z');
      const listed = await store.keys.listForAccount('kacc');
      assert.equal(listed.length, 1);
      assert.ok(listed[0]!.revokedAt);
      assert.equal(listed[0]!.lastUsedAt, '2026-11-22T00:00:00.000Z');
    });

    test('migration 0003 adds limit columns to a database that has rows from before it', async () => {
      const older = (await backend.url()) as string;
      const { db, migrationTableSchema } = await backend.unmigrated(older);
      try {
        const { error } = await new Migrator({ db, provider: migrationProvider, migrationTableSchema }).migrateTo('0002_credit_leases');
        assert.equal(error, undefined);
        const at = new Date().toISOString();
        await db.insertInto('accounts').values({ id: 'old', created_at: at } as never).execute();
        await db.insertInto('api_keys').values({ id: 'oldkey0001', account_id: 'old', key_hash: 'oldhash', created_at: at } as never).execute();
      } finally {
        await db.destroy();
      }
      const upgraded = await openStore(older);
      try {
        assert.equal((await upgraded.accounts.get('old'))!.limits, null);
        assert.equal((await upgraded.keys.findById('oldkey0001'))!.limits, null);
        assert.deepEqual((await upgraded.accounts.update('old', { limits: { tpm: 900 } }))!.limits, { tpm: 900 });
        assert.deepEqual((await upgraded.keys.update('oldkey0001', { limits: { rpm: 3 } }))!.limits, { rpm: 3 });
      } finally {
        await upgraded.close();
        await backend.cleanup(older);
      }
    });

    test('rate limits: null when unset, set on create, replaced or removed by a patch, kept otherwise', async () => {
      assert.equal((await store.accounts.create({ id: 'lim' })).limits, null);
      assert.deepEqual((await store.accounts.create({ id: 'lim2', limits: { rpm: 60, tpm: 10_000 } })).limits, { rpm: 60, tpm: 10_000 });
      assert.deepEqual((await store.accounts.get('lim2'))!.limits, { rpm: 60, tpm: 10_000 });
      assert.deepEqual((await store.accounts.update('lim2', { plan: 'pro' }))!.limits, { rpm: 60, tpm: 10_000 }, 'undefined: unchanged');
      assert.deepEqual((await store.accounts.update('lim2', { limits: { tpm: 5 } }))!.limits, { tpm: 5 }, 'an object replaces both');
      assert.equal((await store.accounts.update('lim2', { limits: null }))!.limits, null);

      const k = await store.keys.create({ id: 'limkey0001', accountId: 'lim', keyHash: 'limhash', limits: { rpm: 1_000_000_000 } });
      assert.deepEqual(k.limits, { rpm: 1_000_000_000 });
      assert.deepEqual((await store.keys.findByHash('limhash'))!.limits, { rpm: 1_000_000_000 });
      const u = await store.keys.update('limkey0001', { name: 'renamed', models: ['m-*'], priority: 'critical', spendCapNanos: 7, expiresAt: '2999-01-01T00:00:00.000Z' });
      assert.deepEqual([u!.name, u!.models, u!.priority, u!.spendCapNanos, u!.expiresAt, u!.limits], ['renamed', ['m-*'], 'critical', 7, '2999-01-01T00:00:00.000Z', { rpm: 1_000_000_000 }]);
      const cleared = await store.keys.update('limkey0001', { models: null, spendCapNanos: null, expiresAt: null, limits: { tpm: 20 } });
      assert.deepEqual([cleared!.name, cleared!.models, cleared!.spendCapNanos, cleared!.expiresAt, cleared!.limits], ['renamed', null, null, null, { tpm: 20 }]);
      assert.equal((await store.keys.update('limkey0001', { limits: null }))!.limits, null);
      assert.equal(await store.keys.update('nokey00001', { limits: { rpm: 1 } }), undefined);
    });

    test('declared keys and accounts are updated, never duplicated, and credits only seed', async () => {
      for (let i = 0; i < 2; i++) {
        await store.accounts.upsertDeclared({ id: 'decl', verified: i === 1, creditsNanos: 1000 });
        await store.keys.upsertDeclared({ id: () => `decl00000${i}`, accountId: 'decl', keyHash: 'declhash', name: `v${i}`, priority: 'standard' });
      }
      await store.accounts.addCredits('decl', -400);
      await store.accounts.upsertDeclared({ id: 'decl', verified: true, creditsNanos: 1000 });
      const keys = await store.keys.listForAccount('decl');
      assert.equal(keys.length, 1);
      assert.equal(keys[0]!.name, 'v1');
      const acc = await store.accounts.get('decl');
      assert.equal(acc!.verified, true);
      assert.equal(acc!.creditsNanos, 600, 'a restart does not reset the balance');
    });

    test('declared limits follow the file: set, changed, and gone when the file has none', async () => {
      await store.accounts.upsertDeclared({ id: 'decl-lim', limits: { rpm: 10 } });
      await store.keys.upsertDeclared({ id: () => 'decllim001', accountId: 'decl-lim', keyHash: 'decllimhash', limits: { tpm: 100 } });
      assert.deepEqual((await store.accounts.get('decl-lim'))!.limits, { rpm: 10 });
      assert.deepEqual((await store.keys.findById('decllim001'))!.limits, { tpm: 100 });
      await store.accounts.upsertDeclared({ id: 'decl-lim', limits: { rpm: 20, tpm: 30 } });
      await store.keys.upsertDeclared({ id: () => 'unused0001', accountId: 'decl-lim', keyHash: 'decllimhash', limits: { rpm: 40 } });
      assert.deepEqual((await store.accounts.get('decl-lim'))!.limits, { rpm: 20, tpm: 30 });
      assert.deepEqual((await store.keys.findById('decllim001'))!.limits, { rpm: 40 });
      await store.accounts.upsertDeclared({ id: 'decl-lim' });
      await store.keys.upsertDeclared({ id: () => 'unused0001', accountId: 'decl-lim', keyHash: 'decllimhash' });
      assert.equal((await store.accounts.get('decl-lim'))!.limits, null);
      assert.equal((await store.keys.findById('decllim001'))!.limits, null);
    });

    test('reserve and settle: credits, ledger row, refund of the unused part', async () => {
      await store.accounts.create({ id: 'pay', creditsNanos: 1000 });
      const r = reservation({ accountId: 'pay', keyId: 'kp', prepaid: true, amountNanos: 600 });
      assert.deepEqual(await store.billing.reserve([r]), ['ok']);
      assert.equal((await store.accounts.get('pay'))!.creditsNanos, 400);
      assert.deepEqual(await store.billing.reserve([{ ...r }]), ['insufficient_credits']);
      assert.equal((await store.accounts.get('pay'))!.creditsNanos, 400, 'a refused reservation takes nothing');
      await store.billing.settle([{ reservation: r, costNanos: 250, ledger: ledgerRow('req_pay_1', 'pay', 'kp') }]);
      assert.equal((await store.accounts.get('pay'))!.creditsNanos, 750);
      const row = await store.usage.find('req_pay_1');
      assert.equal(Number(row!.cost_nanos), 250);
      assert.equal(await store.billing.spent('account:pay', PERIOD), 250);
      assert.equal(await store.billing.spent('key:kp', PERIOD), 250);
    });

    test('spend caps: account and key, reserved amounts count until settled', async () => {
      await store.accounts.create({ id: 'capped' });
      const r = reservation({ accountId: 'capped', keyId: 'kc', amountNanos: 60, accountCapNanos: 100 });
      assert.deepEqual(await store.billing.reserve([r, { ...r }]), ['ok', 'account_cap']);
      await store.billing.settle([{ reservation: r, costNanos: 30, ledger: ledgerRow('req_cap_1', 'capped', 'kc') }]);
      assert.deepEqual(await store.billing.reserve([{ ...r }]), ['ok'], '30 spent + 60 held <= 100');
      const byKey = reservation({ accountId: 'capped', keyId: 'kc2', amountNanos: 10, keyCapNanos: 5 });
      assert.deepEqual(await store.billing.reserve([byKey]), ['key_cap']);
      // A refused key-cap reservation must not leave anything held against the account.
      const acc = reservation({ accountId: 'capped2', keyId: 'kc3', amountNanos: 10, accountCapNanos: 10, keyCapNanos: 5 });
      await store.accounts.create({ id: 'capped2' });
      assert.deepEqual(await store.billing.reserve([acc]), ['key_cap']);
      assert.deepEqual(await store.billing.reserve([{ ...acc, keyCapNanos: null }]), ['ok'], 'the account cap is untouched by the refused one');
    });

    test('parallel reservations never overdraw the balance', async () => {
      await store.accounts.create({ id: 'race', creditsNanos: 1000 });
      const r = reservation({ accountId: 'race', keyId: 'kr', prepaid: true, amountNanos: 100 });
      // Separate calls (separate transactions, separate connections on PostgreSQL) racing.
      const outcomes = (await Promise.all(Array.from({ length: 40 }, () => store.billing.reserve([{ ...r }])))).flat();
      assert.equal(outcomes.filter((o) => o === 'ok').length, 10);
      assert.equal((await store.accounts.get('race'))!.creditsNanos, 0);
    });

    test('credit leases: taken with a reservation, used by settlements, given back, counted in the balance', async () => {
      await store.accounts.create({ id: 'lease', creditsNanos: 10_000, monthlyCapNanos: 50_000 });
      const holder = 'aaaaaaaaaaaaaaaa:1:b00t';
      const r = reservation({ accountId: 'lease', keyId: 'kl', prepaid: true, accountCapNanos: 50_000, amountNanos: 3_000, lease: holder });
      assert.deepEqual(await store.billing.reserve([r, { ...r, amountNanos: 1_000 }]), ['ok', 'ok']);
      const lease = () => store.billing.leasesOf('aaaaaaaaaaaaaaaa:').then((l) => l.map((x) => x.outstandingNanos));
      assert.deepEqual(await lease(), [4_000]);
      assert.equal((await store.accounts.get('lease'))!.creditsNanos, 6_000, 'the lease is taken out of the balance');
      assert.equal(await store.billing.leased('lease'), 4_000, 'but still counted as the account\'s money');
      // A request held 1000 and cost 700: the row settles 700 against the lease; 300 stays in it.
      await store.billing.settle([{ reservation: { ...r, amountNanos: 700 }, costNanos: 700, ledger: ledgerRow('req_lease_1', 'lease', 'kl') }]);
      assert.deepEqual(await lease(), [3_300]);
      assert.equal((await store.accounts.get('lease'))!.creditsNanos, 6_000);
      assert.equal(await store.billing.spent('account:lease', PERIOD), 700);
      // A cost above what was held: the excess is charged to the balance directly.
      await store.billing.settle([{ reservation: { ...r, amountNanos: 300 }, costNanos: 500, ledger: ledgerRow('req_lease_2', 'lease', 'kl') }]);
      assert.deepEqual(await lease(), [3_000]);
      assert.equal((await store.accounts.get('lease'))!.creditsNanos, 5_800);
      await store.billing.release([{ reservation: r, amountNanos: 3_000 }]);
      assert.deepEqual(await lease(), [0]);
      assert.equal((await store.accounts.get('lease'))!.creditsNanos, 8_800, '10000 - 700 - 500');
      // The cap's held room went back with it: only what was spent counts against it.
      assert.deepEqual(await store.billing.reserve([{ ...r, amountNanos: 50_000 - 1_200, lease: undefined }]), ['insufficient_credits']);
      assert.deepEqual(await store.billing.reserve([{ ...r, prepaid: false, amountNanos: 50_000 - 1_200, lease: undefined }]), ['ok']);
      await store.billing.dropEmptyLeases(holder);
      assert.deepEqual(await lease(), []);
    });

    test('a large settlement batch: rows go in bulk, each request id is charged once, a replay charges nothing', async () => {
      await store.accounts.create({ id: 'bulk', creditsNanos: 1_000_000 });
      const r = reservation({ accountId: 'bulk', keyId: 'kb', prepaid: true, amountNanos: 100 });
      assert.deepEqual(await store.billing.reserve([{ ...r, amountNanos: 70 * 100 }]), ['ok']);
      const batch = Array.from({ length: 70 }, (_, i) => ({ reservation: r, costNanos: 60, ledger: ledgerRow(`req_bulk_${i}`, 'bulk', 'kb') }));
      // The same request twice: once within one bulk statement, once across two (and a tail row).
      batch.splice(10, 0, { ...batch[3]! });
      batch.splice(40, 0, { ...batch[5]! });
      batch.push({ ...batch[69]! });
      await store.billing.settle(batch);
      const charged = 1_000_000 - 70 * 60;
      assert.equal((await store.accounts.get('bulk'))!.creditsNanos, charged);
      assert.deepEqual((await store.usage.report({ account: 'bulk' })).totals, { requests: 70, inputTokens: 700, outputTokens: 1400, costNanos: 70 * 60 });
      assert.equal(await store.billing.spent('key:kb', PERIOD), 70 * 60);
      await store.billing.settle(batch);
      assert.equal((await store.accounts.get('bulk'))!.creditsNanos, charged, 'a replayed batch moves no money');
      assert.equal((await store.usage.report({ account: 'bulk' })).totals.requests, 70);
    });

    test('usage: totals and per-day rows, filtered', async () => {
      await store.accounts.create({ id: 'u1' });
      const r = reservation({ accountId: 'u1', keyId: 'ku1' });
      await store.billing.settle([
        { reservation: r, costNanos: 1_000_000, ledger: ledgerRow('req_u_1', 'u1', 'ku1', 'm1', 5, 7) },
        { reservation: r, costNanos: 2_000_000, ledger: ledgerRow('req_u_2', 'u1', 'ku1', 'm2', 1, 1) },
      ]);
      const all = await store.usage.report({ account: 'u1' });
      assert.deepEqual(all.totals, { requests: 2, inputTokens: 6, outputTokens: 8, costNanos: 3_000_000 });
      assert.equal(all.days.length, 1);
      assert.equal(all.days[0]!.day, new Date().toISOString().slice(0, 10));
      assert.equal((await store.usage.report({ account: 'u1', model: 'm1' })).totals.requests, 1);
      assert.equal((await store.usage.report({ account: 'u1', from: '2999-01-01' })).totals.requests, 0);
      assert.equal((await store.usage.report({ account: 'nobody' })).totals.costNanos, 0);
    });

    test('usage: the top accounts by spend since a time, biggest first, at most `limit`; older rows left out', async () => {
      const now = Date.now();
      // Request ids as the gateway makes them: the start time in hex, then randomness.
      const id = (ms: number, n: number) => `req_${ms.toString(16).padStart(12, '0')}${n.toString(16).padStart(20, '0')}`;
      const row = (ms: number, n: number, account: string, costNanos: number) => ({ ...ledgerRow(id(ms, n), account, `k-${account}`, 'm', 3, 4), cost_nanos: costNanos, created_at: new Date(ms).toISOString() });
      // Spends far above the other tests' rows, which share this store.
      await store.db.insertInto('ledger').values([
        row(now - 1_000, 1, 'top-big', 5e12),
        row(now - 2_000, 2, 'top-big', 3e12),
        row(now - 3_000, 3, 'top-mid', 7e12),
        row(now - 4_000, 4, 'top-small', 1e12),
        row(now - 2 * 3_600_000, 5, 'top-old', 9e13),
      ]).execute();
      const top = await store.usage.topAccounts(new Date(now - 3_600_000), 2);
      assert.deepEqual(top, [
        { account: 'top-big', requests: 2, inputTokens: 6, outputTokens: 8, costNanos: 8e12 },
        { account: 'top-mid', requests: 1, inputTokens: 3, outputTokens: 4, costNanos: 7e12 },
      ]);
      const all = await store.usage.topAccounts(new Date(now - 3_600_000), 100);
      assert.ok(all.some((a) => a.account === 'top-small'));
      assert.ok(!all.some((a) => a.account === 'top-old'), 'a row from before `since` is not counted');
      assert.deepEqual(await store.usage.topAccounts(new Date(now + 60_000), 10), []);
    });

    describe('stored responses', () => {
      const HOUR = 3_600_000;
      const past = (ms: number) => new Date(Date.now() - ms).toISOString();
      const rows = async (table: 'responses' | 'response_items', accountId: string) =>
        Number((await store.db.selectFrom(table).select(sql<number | string>`count(*)`.as('n')).where('account_id', '=', accountId).executeTakeFirstOrThrow()).n);

      test('save and get: the response, its input and output items in order, as saved', async () => {
        const r = storedResponse('resp_rt1', 'ra', { previousResponseId: 'resp_rt0', inputs: 250 });
        await store.responses.save(r);
        assert.deepEqual(await store.responses.get('ra', 'resp_rt1'), r);
        const plain = storedResponse('resp_rt2', 'ra', { inputs: 1 });
        await store.responses.save(plain);
        const got = await store.responses.get('ra', 'resp_rt2');
        assert.deepEqual(got, plain);
        assert.equal(got!.previousResponseId, null);
        assert.equal(await store.responses.get('ra', 'resp_nope'), undefined);
      });

      test('timestamps are stored in one form, so that they compare as text', async () => {
        const r = storedResponse('resp_ts', 'rts', { createdAt: '2026-01-02T03:04:05Z', expiresAt: '2999-01-01T00:00:00+02:00' });
        await store.responses.save(r);
        const got = await store.responses.get('rts', 'resp_ts');
        assert.equal(got!.createdAt, '2026-01-02T03:04:05.000Z');
        assert.equal(got!.expiresAt, '2998-12-31T22:00:00.000Z');
        await assert.rejects(store.responses.save(storedResponse('resp_ts2', 'rts', { expiresAt: 'soon' })), /expiresAt/);
        await assert.rejects(store.responses.save({ ...storedResponse('resp_ts3', 'rts'), outputItems: [{ type: 'message' }] }), /no id/);
        assert.equal(await rows('responses', 'rts'), 1, 'a refused save writes nothing');
      });

      test("another account's response is undefined, exactly as a missing one, and cannot be deleted by it", async () => {
        await store.responses.save(storedResponse('resp_iso', 'owner'));
        assert.equal(await store.responses.get('intruder', 'resp_iso'), undefined);
        assert.deepEqual(await store.responses.get('intruder', 'resp_iso'), await store.responses.get('intruder', 'resp_missing'));
        assert.equal(await store.responses.delete('intruder', 'resp_iso'), false);
        assert.equal((await store.responses.findItems('intruder', ['msg_resp_iso_in', 'msg_resp_iso_out'])).size, 0);
        assert.equal((await store.responses.get('owner', 'resp_iso'))?.id, 'resp_iso', 'still there for its owner');
        assert.equal(await rows('response_items', 'owner'), 4);
      });

      test('an expired response is invisible at once (get, findItems, delete) though not yet swept', async () => {
        await store.responses.save(storedResponse('resp_old', 'rexp', { createdAt: past(31 * 24 * HOUR), expiresAt: past(1) }));
        const r = storedResponse('resp_soon', 'rexp');
        await store.responses.save(r);
        assert.equal(await store.responses.get('rexp', 'resp_old'), undefined);
        assert.deepEqual([...(await store.responses.findItems('rexp', ['msg_resp_old_in', 'msg_resp_soon_in'])).keys()], ['msg_resp_soon_in']);
        // The same instant seen from a later clock: expired from expiresAt on, not one millisecond later.
        const at = (ms: number) => new ResponsesRepo(store.db, () => ms);
        const expiry = Date.parse(r.expiresAt);
        assert.equal((await at(expiry - 1).get('rexp', 'resp_soon'))?.id, 'resp_soon');
        assert.equal(await at(expiry).get('rexp', 'resp_soon'), undefined);
        assert.equal((await at(expiry).findItems('rexp', ['msg_resp_soon_in'])).size, 0);
        assert.equal(await store.responses.delete('rexp', 'resp_old'), false, 'deleted, but answered as missing');
        assert.equal(await rows('responses', 'rexp'), 1);
      });

      test('delete: only the own account\'s, with its items, once', async () => {
        await store.responses.save(storedResponse('resp_del', 'rdel'));
        await store.responses.save(storedResponse('resp_keep', 'rdel'));
        assert.equal(await store.responses.delete('rdel-other', 'resp_del'), false);
        assert.equal(await store.responses.delete('rdel', 'resp_del'), true);
        assert.equal(await store.responses.get('rdel', 'resp_del'), undefined);
        assert.equal(await store.responses.delete('rdel', 'resp_del'), false, 'a second delete finds nothing');
        assert.equal(await rows('response_items', 'rdel'), 4, "only the kept response's items are left");
        assert.equal((await store.responses.findItems('rdel', ['msg_resp_del_out'])).size, 0);
        assert.equal((await store.responses.get('rdel', 'resp_keep'))?.inputItems.length, 2);
      });

      test('findItems: input and output items across responses, scoped to the account, missing ids absent', async () => {
        await store.responses.save(storedResponse('resp_f1', 'rf', { createdAt: past(2 * HOUR) }));
        await store.responses.save(storedResponse('resp_f2', 'rf', { createdAt: past(HOUR) }));
        // Another account holds items with the very same ids.
        const theirs = storedResponse('resp_f3', 'rf-other');
        await store.responses.save({ ...theirs, inputItems: [{ id: 'msg_resp_f1_in', type: 'message', role: 'user', content: 'not yours' }] });
        // An item sent again as input in a later response: the latest copy wins.
        const again = storedResponse('resp_f4', 'rf');
        const resent = { ...again.outputItems[1]!, id: 'msg_resp_f1_out' };
        await store.responses.save({ ...again, inputItems: [resent] });
        // Many ids, most missing: more than one lookup statement's worth.
        const wanted = ['msg_resp_f1_in', 'fc_resp_f2', 'fco_resp_f2', 'msg_resp_f1_out', ...Array.from({ length: 1200 }, (_, i) => `msg_none_${i}`), 'fc_resp_f3', 'msg_resp_f1_in'];
        const found = await store.responses.findItems('rf', wanted);
        assert.deepEqual([...found.keys()].sort(), ['fc_resp_f2', 'fco_resp_f2', 'msg_resp_f1_in', 'msg_resp_f1_out']);
        assert.deepEqual(found.get('msg_resp_f1_in'), storedResponse('resp_f1', 'rf').inputItems[0]);
        assert.deepEqual(found.get('fc_resp_f2'), storedResponse('resp_f2', 'rf').outputItems[0]);
        assert.deepEqual(found.get('msg_resp_f1_out'), resent);
        assert.deepEqual([...(await store.responses.findItems('rf-other', ['msg_resp_f1_in', 'fc_resp_f2'])).entries()], [['msg_resp_f1_in', { id: 'msg_resp_f1_in', type: 'message', role: 'user', content: 'not yours' }]]);
        assert.equal((await store.responses.findItems('rf', [])).size, 0);
      });

      test("deleteAccount: every response of the account and its items, no one else's", async () => {
        for (let i = 0; i < 3; i++) await store.responses.save(storedResponse(`resp_da${i}`, 'rda'));
        await store.responses.save(storedResponse('resp_da_expired', 'rda', { expiresAt: past(1) }));
        await store.responses.save(storedResponse('resp_db', 'rdb'));
        assert.equal(await store.responses.deleteAccount('rda'), 4);
        assert.equal(await rows('responses', 'rda'), 0);
        assert.equal(await rows('response_items', 'rda'), 0);
        assert.equal((await store.responses.get('rdb', 'resp_db'))?.id, 'resp_db');
        assert.equal(await rows('response_items', 'rdb'), 4);
        assert.equal(await store.responses.deleteAccount('rda'), 0);
      });

      test('deleteExpired: oldest first, at most `limit` per call, never an unexpired one', async () => {
        const now = new Date().toISOString();
        // Whatever earlier tests left expired goes first.
        while ((await store.responses.deleteExpired(now, 1_000)) > 0);
        for (let i = 0; i < 5; i++) await store.responses.save(storedResponse(`resp_x${i}`, 'rx', { expiresAt: past((5 - i) * HOUR) }));
        await store.responses.save(storedResponse('resp_x_live', 'rx'));
        await store.responses.save(storedResponse('resp_x_edge', 'rx', { expiresAt: now }));
        const left = async () => (await store.db.selectFrom('responses').select('id').where('account_id', '=', 'rx').orderBy('id').execute()).map((r) => r.id);
        assert.equal(await store.responses.deleteExpired(now, 2), 2);
        assert.deepEqual(await left(), ['resp_x2', 'resp_x3', 'resp_x4', 'resp_x_edge', 'resp_x_live'], 'the two oldest went first');
        assert.equal(await store.responses.deleteExpired(now, 2), 2);
        assert.equal(await store.responses.deleteExpired(now), 2, 'expiresAt <= now: the one expiring right now too');
        assert.equal(await store.responses.deleteExpired(now), 0);
        assert.deepEqual(await left(), ['resp_x_live']);
        assert.equal(await rows('response_items', 'rx'), 4, "the deleted responses' items went with them");
      });

      test('a big account: deleteAccount goes through it in bounded batches, deleteExpired past one batch', async () => {
        const n = 450;
        // Saved 15 at a time: concurrent saves, each its own transaction.
        for (let i = 0; i < n; i += 15) {
          await Promise.all(Array.from({ length: 15 }, (_, j) => store.responses.save(storedResponse(`resp_big${String(i + j).padStart(4, '0')}`, 'rbig', { inputs: 3, ...((i + j) % 2 === 0 && { expiresAt: past(1) }) }))));
        }
        assert.equal(await rows('response_items', 'rbig'), n * 5);
        assert.ok((await store.responses.deleteExpired(new Date().toISOString(), 1_000)) >= n / 2);
        assert.equal(await rows('responses', 'rbig'), n / 2, 'more than one batch in one call');
        assert.equal(await store.responses.deleteAccount('rbig'), n / 2);
        assert.equal(await rows('responses', 'rbig'), 0);
        assert.equal(await rows('response_items', 'rbig'), 0);
      });
    });

    describe('request log', () => {
      const row = (id: string, createdAt: string, over: Partial<RequestLogRow> = {}): RequestLogRow => ({
        request_id: id, created_at: createdAt, account_id: 'rl', key_id: 'krl', model: null, requested_model: "x'); drop table request_log; --",
        deployment: null, endpoint: 'chat', method: 'POST', path: '/v1/chat/completions', status: 401, error_code: 'invalid_api_key',
        message: 'The API key is not valid. ✓ 🦀 "quoted"', attempts: 0, started_at: createdAt, duration_ms: 0.25, first_byte_ms: null, ...over,
      });
      const at = (ms: number) => new Date(ms).toISOString();

      test('recordRequests: rows in bulk (through the writer the gateway uses), found as written; an id twice keeps the first', async () => {
        const now = Date.now();
        const batch = Array.from({ length: 200 }, (_, i) => row(`req_rl_${String(i).padStart(3, '0')}`, at(now)));
        batch[7] = { ...batch[7]!, account_id: null, key_id: null, status: 503, error_code: 'server_overloaded', attempts: 3, first_byte_ms: 12.5, model: 'm', deployment: 'd' };
        await store.requestLogWriter.recordRequests(batch);
        assert.deepEqual(await store.requestLog.find('req_rl_007'), batch[7]);
        assert.deepEqual(await store.requestLog.find('req_rl_199'), batch[199]);
        await store.requestLogWriter.recordRequests([{ ...batch[0]!, status: 500 }, row('req_rl_new', at(now))]);
        assert.equal((await store.requestLog.find('req_rl_000'))!.status, 401, 'the first row of a request id stays');
        assert.equal((await store.requestLog.find('req_rl_new'))!.request_id, 'req_rl_new', 'the rest of the batch went in');
        assert.equal(await store.requestLog.find('req_rl_missing'), undefined);
        await store.requestLogWriter.recordRequests([]);
      });

      test('deleteRequestsBefore: only older rows, oldest first, at most `limit`', async () => {
        const now = Date.now();
        const old = Array.from({ length: 5 }, (_, i) => row(`req_rlold_${i}`, at(now - (10 - i) * 86_400_000)));
        await store.requestLogWriter.recordRequests([...old, row('req_rlnew', at(now))]);
        const cutoff = at(now - 86_400_000);
        // Whatever earlier tests left: all newer than the cutoff.
        assert.equal(await store.requestLogWriter.deleteRequestsBefore(cutoff, 2), 2);
        assert.equal(await store.requestLog.find('req_rlold_0'), undefined);
        assert.equal(await store.requestLog.find('req_rlold_1'), undefined);
        assert.ok(await store.requestLog.find('req_rlold_2'), 'the third oldest is still there');
        assert.equal(await store.requestLogWriter.deleteRequestsBefore(cutoff, 1_000), 3);
        assert.equal(await store.requestLogWriter.deleteRequestsBefore(cutoff, 1_000), 0);
        assert.ok(await store.requestLog.find('req_rlnew'));
      });
    });
  });
}
