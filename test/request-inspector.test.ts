// The request inspector (issue 16, part 3): GET /admin/requests/{id} and `sluice requests show`
// answer what the gateway knows of a request: its ledger row when it was served, and the error it
// was given when it was refused or failed (from the request log, written in batches off the
// request path). Unknown, malformed and, with ?account=, another account's ids are one 404; no
// admin token is a 401. On SQLite and on PostgreSQL, through real gateways and the real CLI.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { createLogger } from '../src/observability/logger.js';
import { RequestRecorder, type DropReason } from '../src/observability/request-recorder.js';
import type { RequestLogRow, RequestLogWriter } from '../src/store/request-log-repo.js';
import type { BillingStore } from '../src/store/billing-store.js';
import { assertContractError } from './helpers/assert-error.js';
import { http, simModel, startTestGateway, type TestGateway } from './helpers/gateway.js';
import { dropSchemaOf, freshPostgresUrl, postgresSkipReason } from './helpers/postgres.js';

const ADMIN = 'admin-token-request-inspector-0123456789';
const KEYS = {
  acme: 'sk-test-inspector-acme-000000001',
  limited: 'sk-test-inspector-limited-00001',
  other: 'sk-test-inspector-other-0000001',
};
const PRICE = { inputPerMTok: 2, outputPerMTok: 4 };
const cli = new URL('../src/cli/main.js', import.meta.url).pathname;

function gatewayDoc(): Record<string, unknown> {
  return {
    adminToken: ADMIN,
    // The smallest queue: the flood below overflows it.
    requestLog: { queueLimit: 100 },
    accounts: [
      { id: 'acme', keys: [{ key: KEYS.acme, name: 'main' }, { key: KEYS.limited, name: 'limited', limits: { rpm: 1 } }] },
      { id: 'other', keys: [{ key: KEYS.other, name: 'theirs' }] },
    ],
    models: [simModel('test-chat', { pricing: PRICE }, { outputTokens: { min: 6, max: 6 } })],
  };
}

async function defineInspectorSuite(name: string, storeUrl: () => Promise<string | { skip: string } | undefined>, cleanup: (url: string | undefined) => Promise<void>) {
  const url = await storeUrl();
  const skip = typeof url === 'object' ? url.skip : false;

  describe(`request inspector on ${name}`, { skip }, () => {
    let gw: TestGateway;
    const logLines: Array<Record<string, unknown>> = [];
    const inspect = (id: string, query = '', key: string | null = ADMIN) => http(`${gw.url}/admin/requests/${id}${query}`, key === null ? {} : { key });
    const chat = (key: string, body: Record<string, unknown> = {}, headers: Record<string, string> = {}) =>
      http(`${gw.baseURL}/chat/completions`, { method: 'POST', key, headers, body: JSON.stringify({ model: 'test-chat', messages: [{ role: 'user', content: 'hi' }], max_tokens: 6, ...body }) });
    const keyId = async (account: string, keyName: string) =>
      (await http(`${gw.url}/admin/accounts/${account}/keys`, { key: ADMIN })).body.data.find((k: { name: string }) => k.name === keyName).id as string;

    before(async () => {
      const sink = new Writable({ write(c, _e, done) { for (const l of String(c).split('\n').filter(Boolean)) logLines.push(JSON.parse(l)); done(); } });
      gw = await startTestGateway(gatewayDoc(), {
        ...(typeof url === 'string' && { store: url }),
        logger: createLogger('info', sink),
      });
    });
    after(async () => {
      await gw?.close();
      await cleanup(typeof url === 'string' ? url : undefined);
    });

    test('a served request shows its ledger row: account, key, model, deployment, tokens, cost, timings, one attempt', async () => {
      const res = await chat(KEYS.acme);
      assert.equal(res.status, 200, res.text);
      const id = res.headers.get('x-request-id')!;
      const got = await inspect(id);
      assert.equal(got.status, 200, got.text);
      const r = got.body;
      const usage = res.body.usage;
      assert.deepEqual(
        { object: r.object, id: r.id, recordedIn: r.recordedIn, accountId: r.accountId, keyId: r.keyId, model: r.model, deployment: r.deployment, endpoint: r.endpoint, status: r.status, code: r.code, error: r.error, attempts: r.attempts },
        { object: 'request', id, recordedIn: ['ledger'], accountId: 'acme', keyId: await keyId('acme', 'main'), model: 'test-chat', deployment: 'test-chat-sim', endpoint: 'chat', status: 200, code: null, error: null, attempts: 1 },
      );
      assert.deepEqual([r.inputTokens, r.outputTokens], [usage.prompt_tokens, usage.completion_tokens]);
      assert.ok(Math.abs(r.cost - (usage.prompt_tokens * PRICE.inputPerMTok + usage.completion_tokens * PRICE.outputPerMTok) / 1e6) < 1e-12, `cost ${r.cost}`);
      assert.ok(Math.abs(Date.parse(r.startedAt) - Date.now()) < 60_000, r.startedAt);
      assert.ok(r.durationMs > 0 && r.durationMs < 60_000, String(r.durationMs));
      assert.equal(got.headers.get('content-type'), 'application/json');
    });

    test('a bad key (401): status, code and the message it was given; no account, nothing billed', async () => {
      const res = await chat('sk-not-a-real-key-at-all-0000');
      assertContractError(res, 'invalid_api_key');
      const r = (await inspect(res.headers.get('x-request-id')!)).body;
      assert.deepEqual(r.recordedIn, ['request_log']);
      assert.deepEqual({ status: r.status, code: r.code, error: r.error, accountId: r.accountId, keyId: r.keyId, cost: r.cost, inputTokens: r.inputTokens, attempts: r.attempts, endpoint: r.endpoint, method: r.method, path: r.path },
        { status: 401, code: 'invalid_api_key', error: { status: 401, code: 'invalid_api_key', message: res.body.error.message }, accountId: null, keyId: null, cost: 0, inputTokens: null, attempts: 0, endpoint: null, method: 'POST', path: '/v1/chat/completions' });
      assert.ok(!JSON.stringify(r).includes('sk-not-a-real-key'), 'the key presented is nowhere in the record');
    });

    test('a bad body (400): the parameter error as sent, with the account and key that sent it', async () => {
      const res = await chat(KEYS.acme, { max_tokens: -3 });
      assertContractError(res, 'invalid_parameter', 'max_tokens');
      const r = (await inspect(res.headers.get('x-request-id')!)).body;
      assert.deepEqual({ status: r.status, code: r.code, error: r.error, accountId: r.accountId, keyId: r.keyId },
        { status: 400, code: 'invalid_parameter', error: { status: 400, code: 'invalid_parameter', message: res.body.error.message }, accountId: 'acme', keyId: await keyId('acme', 'main') });
    });

    test('rate-limited (429): status, code and message of the refusal', async () => {
      assert.equal((await chat(KEYS.limited)).status, 200);
      const res = await chat(KEYS.limited);
      assertContractError(res, 'rate_limit_requests');
      const r = (await inspect(res.headers.get('x-request-id')!)).body;
      assert.deepEqual({ status: r.status, code: r.code, message: r.error.message, accountId: r.accountId, keyId: r.keyId, model: r.model, recordedIn: r.recordedIn },
        { status: 429, code: 'rate_limit_requests', message: res.body.error.message, accountId: 'acme', keyId: await keyId('acme', 'limited'), model: 'test-chat', recordedIn: ['request_log'] });
    });

    test('an unknown model: no model, the name the client sent cut to 128 characters', async () => {
      const asked = `<script>${'m'.repeat(240)}`;
      const res = await chat(KEYS.acme, { model: asked });
      assertContractError(res, 'model_not_found', 'model');
      const r = (await inspect(res.headers.get('x-request-id')!)).body;
      assert.deepEqual({ status: r.status, code: r.code, model: r.model, requestedModel: r.requestedModel }, { status: 404, code: 'model_not_found', model: null, requestedModel: asked.slice(0, 128) });
    });

    test('an engine that fails every attempt: the retries counted, the final error, nothing billed', async () => {
      // A reset is retried (a crash, a 500, is not): every attempt meets it.
      const res = await chat(KEYS.acme, {}, { 'x-sluice-fault': 'reset' });
      assertContractError(res, 'upstream_unreachable');
      const r = (await inspect(res.headers.get('x-request-id')!)).body;
      assert.deepEqual({ status: r.status, code: r.code, message: r.error.message, deployment: r.deployment, recordedIn: r.recordedIn, cost: r.cost },
        { status: 502, code: 'upstream_unreachable', message: res.body.error.message, deployment: 'test-chat-sim', recordedIn: ['request_log'], cost: 0 });
      assert.ok(r.attempts > 1, `attempts ${r.attempts}`);
    });

    test('a stream cut after it started: billed on the ledger, and the mid-stream error beside it', async () => {
      const res = await chat(KEYS.acme, { stream: true, stream_options: { include_usage: true } }, { 'x-sluice-fault': 'cut-stream' });
      assert.equal(res.status, 200);
      const event = res.text.split('\n').filter((l) => l.startsWith('data: {"error"')).map((l) => JSON.parse(l.slice(6)).error)[0];
      assert.ok(event, `an error event: ${res.text.slice(-400)}`);
      const r = (await inspect(res.headers.get('x-request-id')!)).body;
      assert.deepEqual({ recordedIn: r.recordedIn, status: r.status, code: r.code, error: r.error }, { recordedIn: ['ledger', 'request_log'], status: 200, code: event.code, error: { status: 200, code: event.code, message: event.message } });
      assert.ok(r.outputTokens > 0 && r.cost > 0, JSON.stringify(r));
    });

    test('unknown and malformed ids: 404 request_not_found in the contract shape', async () => {
      for (const id of ['req_0123456789abcdef0123456789abcdef', 'req_xyz', 'nope', encodeURIComponent("req_' or 1=1 --"), `req_${'a'.repeat(600)}`, encodeURIComponent('<script>alert(1)</script>'), `req_${'0'.repeat(32)}/x`, `REQ_${'A'.repeat(32)}`]) {
        const res = await inspect(id);
        assertContractError(res, 'request_not_found');
        assert.match(res.body.error.message, /^No request ".*" is known to this gateway\.$/, id);
        assert.ok(res.body.error.message.length < 120, 'the id is cut in the message');
      }
    });

    test('without the admin token: 401, an API key does not do', async () => {
      const res = await chat(KEYS.acme);
      const id = res.headers.get('x-request-id')!;
      assertContractError(await inspect(id, '', null), 'missing_api_key');
      assertContractError(await inspect(id, '', KEYS.acme), 'invalid_api_key');
      assertContractError(await inspect(id, '', 'wrong-admin-token-0123456789'), 'invalid_api_key');
    });

    test("?account=: the account's own request is shown; another account's is the same 404 as a missing one", async () => {
      const mine = (await chat(KEYS.acme)).headers.get('x-request-id')!;
      const refused = (await chat('sk-not-a-real-key-at-all-0000')).headers.get('x-request-id')!;
      assert.equal((await inspect(mine, '?account=acme')).body.id, mine);
      const theirs = await inspect(mine, '?account=other');
      assertContractError(theirs, 'request_not_found');
      const missingId = `req_${'0'.repeat(32)}`;
      const missing = await inspect(missingId, '?account=other');
      const same = (r: typeof theirs, id: string) => ({ status: r.status, error: { ...r.body.error, request_id: null, message: r.body.error.message.replace(id, 'ID') } });
      assert.deepEqual(same(theirs, mine), same(missing, missingId));
      // A request refused before its key was known belongs to no account.
      assertContractError(await inspect(refused, '?account=acme'), 'request_not_found');
      assertContractError(await inspect(mine, '?account=no%20such!'), 'invalid_parameter', 'account');
      assertContractError(await inspect(mine, '?acount=acme'), 'invalid_parameter', 'acount');
    });

    test('sluice requests show: a table for people, JSON for scripts, a clear line for an unknown id', async () => {
      const res = await chat(KEYS.acme, { max_tokens: 0 });
      assert.equal(res.status, 400);
      const id = res.headers.get('x-request-id')!;
      const env = { ...process.env, SLUICE_ADMIN_TOKEN: ADMIN };
      const run = async (args: string[]) => {
        try {
          const { stdout, stderr } = await promisify(execFile)(process.execPath, [cli, ...args, '--url', gw.url], { env, timeout: 15_000 });
          return { status: 0, stdout, stderr };
        } catch (err) {
          const e = err as { code?: number; stdout?: string; stderr?: string };
          return { status: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
        }
      };
      const table = await run(['requests', 'show', id]);
      assert.equal(table.status, 0, table.stderr);
      assert.match(table.stdout, new RegExp(`│ id +│ ${id} +│`));
      assert.match(table.stdout, /│ status +│ 400 +│/);
      assert.match(table.stdout, /│ code +│ invalid_parameter +│/);
      assert.match(table.stdout, /│ account +│ acme +│/);
      assert.ok(table.stdout.includes(res.body.error.message.slice(0, 30)), table.stdout);
      const json = await run(['requests', 'show', id, '--account', 'acme', '--json']);
      assert.equal(json.status, 0, json.stderr);
      assert.deepEqual((({ id: i, status, code }) => ({ id: i, status, code }))(JSON.parse(json.stdout)), { id, status: 400, code: 'invalid_parameter' });
      const served = await chat(KEYS.acme);
      const servedTable = await run(['requests', 'show', served.headers.get('x-request-id')!]);
      assert.equal(servedTable.status, 0, servedTable.stderr);
      assert.match(servedTable.stdout, new RegExp(`│ tokens in / out +│ ${served.body.usage.prompt_tokens} / ${served.body.usage.completion_tokens} +│`));
      assert.match(servedTable.stdout, /│ deployment +│ test-chat-sim +│/);
      assert.match(servedTable.stdout, /│ recorded in +│ ledger +│/);
      const missing = await run(['requests', 'show', 'req_nope']);
      assert.equal(missing.status, 1);
      assert.match(missing.stderr, /^sluice: No request "req_nope" is known to this gateway\. \(request_not_found\)\n$/);
      const theirs = await run(['requests', 'show', id, '--account', 'other']);
      assert.equal(theirs.status, 1);
      assert.match(theirs.stderr, /\(request_not_found\)/);
    });

    /**
     * Replaces the store's ledger writes while `body` runs, with 8 clients sending requests all the
     * while; `body` gets the id of a request served after the replacement (so its row meets it).
     */
    async function underTraffic(settle: (real: BillingStore['settle']) => BillingStore['settle'], body: (id: string) => Promise<void>) {
      await gw.settled();
      const billing = gw.store.billing;
      const real = billing.settle.bind(billing);
      billing.settle = settle(real);
      const served = await chat(KEYS.acme);
      assert.equal(served.status, 200, served.text);
      let stop = false;
      let completed = 0;
      let flowing: () => void;
      const isFlowing = new Promise<void>((r) => (flowing = r));
      // Stops on its own after 8 s: without a bound the inspector would wait for the traffic to end.
      const deadline = setTimeout(() => (stop = true), 8_000);
      const clients = Array.from({ length: 8 }, async () => {
        while (!stop) {
          assert.equal((await chat(KEYS.acme)).status, 200);
          if (++completed === 16) flowing();
        }
      });
      try {
        await Promise.race([isFlowing, Promise.all(clients)]);
        await body(served.headers.get('x-request-id')!);
      } finally {
        stop = true;
        clearTimeout(deadline);
        await Promise.all(clients);
        billing.settle = real;
        await gw.settled();
      }
    }

    test('under steady traffic and a slow store, the inspector writes what it held when asked and answers, not what keeps arriving', async () => {
      // Every ledger batch takes 30 ms: requests served meanwhile are journaled during every apply.
      await underTraffic((real) => async (...args) => {
        await new Promise((r) => setTimeout(r, 30));
        return real(...args);
      }, async (id) => {
        const t0 = performance.now();
        const got = await inspect(id);
        const ms = performance.now() - t0;
        assert.equal(got.status, 200, got.text);
        assert.deepEqual(got.body.recordedIn, ['ledger']);
        // Below the 2 s bound: the watermark ended the wait, not the bound.
        assert.ok(ms < 1_500, `answered in ${Math.round(ms)} ms`);
      });
    });

    test('a store that never answers holds the inspector 2 s at most: it then reads what is there', async () => {
      let release!: () => void;
      const released = new Promise<void>((r) => (release = r));
      await underTraffic((real) => async (...args) => {
        await released;
        return real(...args);
      }, async (id) => {
        const t0 = performance.now();
        // Without a bound the answer would wait for the store forever: give up well after 2 s.
        const got = await http(`${gw.url}/admin/requests/${id}`, { key: ADMIN, signal: AbortSignal.timeout(6_000) }).finally(release);
        const ms = performance.now() - t0;
        // Its ledger row is still in the journal: not in the database yet, so not found.
        assertContractError(got, 'request_not_found');
        assert.ok(ms >= 1_900 && ms < 4_000, `answered in ${Math.round(ms)} ms`);
        assert.equal((await inspect(id)).status, 200, 'found once the store answers');
      });
    });

    test('a flood of refusals: every row is written or counted as dropped, and no key is logged', async () => {
      const before = await droppedTotal(gw);
      const ids = (await Promise.all(Array.from({ length: 200 }, () => chat('sk-not-a-real-key-at-all-0000')))).map((r) => r.headers.get('x-request-id')!);
      await gw.gateway.deps.requestLog.flush();
      const written = await gw.store.db.selectFrom('request_log').select('request_id').where('request_id', 'in', ids).execute();
      assert.equal(written.length + (await droppedTotal(gw)) - before, 200);
      assert.ok(logLines.every((l) => !JSON.stringify(l).includes('sk-not-a-real-key')), 'no key in the log');
    });

    test('refusals without an accepted key are capped per second and counted; refusals of a known key are all kept', async () => {
      const before = await droppedTotal(gw, 'unauthenticated_limit');
      const t0 = performance.now();
      const anonymous = (await Promise.all(Array.from({ length: 100 }, () => chat('sk-not-a-real-key-at-all-0000')))).map((r) => r.headers.get('x-request-id')!);
      const seconds = (performance.now() - t0) / 1000;
      const known = await Promise.all(Array.from({ length: 60 }, () => chat(KEYS.acme, { max_tokens: -1 })));
      assert.ok(known.every((r) => r.status === 400));
      await gw.gateway.deps.requestLog.flush();
      const count = async (ids: string[]) => (await gw.store.db.selectFrom('request_log').select('request_id').where('request_id', 'in', ids).execute()).length;
      const written = await count(anonymous);
      // 20 a second (the default), a second's worth at once, and the flood above emptied the bucket.
      assert.ok(written <= 20 + Math.ceil(20 * seconds) + 1, `${written} of 100 in ${seconds.toFixed(2)} s`);
      assert.equal((await droppedTotal(gw, 'unauthenticated_limit')) - before, 100 - written);
      assert.equal(await count(known.map((r) => r.headers.get('x-request-id')!)), 60);
    });
  });
}

/** sluice_request_log_dropped_total over its reasons (or of one), as scraped. */
async function droppedTotal(gw: TestGateway, reason?: string): Promise<number> {
  const text = await (await fetch(`${gw.url}/metrics`)).text();
  let n = 0;
  for (const m of text.matchAll(/^sluice_request_log_dropped_total\{reason="([^"]*)"\} (\S+)$/gm)) if (reason === undefined || m[1] === reason) n += Number(m[2]);
  return n;
}

/** A row as the gateway would record it; only the id matters to the recorder. */
const logRow = (id: string, createdAt = new Date().toISOString()): RequestLogRow => ({
  request_id: id, created_at: createdAt, account_id: null, key_id: null, model: null, requested_model: null, deployment: null, endpoint: null,
  method: 'POST', path: '/v1/chat/completions', status: 401, error_code: 'missing_api_key', message: 'm', attempts: 0, started_at: createdAt, duration_ms: 1, first_byte_ms: null,
});

/** A store writer that holds each batch until the test lets it go (or fails it): a slow or broken store. */
function heldWriter() {
  const batches: string[][] = [];
  const waiting: Array<{ go: () => void; fail: (e: Error) => void }> = [];
  let arrived: (() => void) | undefined;
  const writer: RequestLogWriter = {
    recordRequests: (rows) => new Promise<void>((go, fail) => {
      waiting.push({ go: () => { batches.push(rows.map((r) => r.request_id)); go(); }, fail });
      arrived?.();
    }),
    deleteRequestsBefore: async () => 0,
  };
  return {
    writer,
    batches,
    /** The next batch handed to the store (already there, or when it comes). */
    async next() {
      while (waiting.length === 0) await new Promise<void>((r) => (arrived = r));
      return waiting.shift()!;
    },
  };
}

describe('request recorder', () => {
  /** No cap on rows without an account: these tests are about the queue. */
  const uncapped = { unauthenticatedPerSecond: 1_000_000 };
  const counting = () => {
    const dropped: Record<DropReason, number> = { queue_full: 0, store_error: 0, unauthenticated_limit: 0, shutdown: 0 };
    return { dropped, events: { dropped: (reason: DropReason, n: number) => void (dropped[reason] += n) } };
  };

  test('a slow store: the queue holds queueLimit rows, drops and counts the rest, then writes what it held in order, in batches', async () => {
    const store = heldWriter();
    const { dropped, events } = counting();
    const rec = new RequestRecorder(store.writer, events, createLogger('silent'), { queueLimit: 100, batch: 10, flushMs: 60_000, ...uncapped });
    for (let i = 0; i < 10; i++) rec.record(logRow(`r${i}`));
    const first = await store.next(); // a full batch goes at once, without the timer
    for (let i = 10; i < 160; i++) rec.record(logRow(`r${i}`));
    assert.deepEqual(dropped, { queue_full: 50, store_error: 0, unauthenticated_limit: 0, shutdown: 0 });
    assert.equal(rec.queued, 100);
    first.go();
    const flushed = rec.flush();
    for (let i = 0; i < 10; i++) (await store.next()).go();
    await flushed;
    assert.deepEqual(store.batches.flat(), Array.from({ length: 110 }, (_, i) => `r${i}`));
    assert.ok(store.batches.every((b) => b.length <= 10));
    assert.equal(rec.queued, 0);
  });

  test('a store that refuses a batch: its rows are dropped and counted, later rows are written', async () => {
    const store = heldWriter();
    const { dropped, events } = counting();
    const lines: string[] = [];
    const sink = new Writable({ write(c, _e, done) { lines.push(String(c)); done(); } });
    const logger = createLogger('error', sink);
    const rec = new RequestRecorder(store.writer, events, logger, { queueLimit: 100, batch: 4, flushMs: 60_000, ...uncapped });
    for (let i = 0; i < 4; i++) rec.record(logRow(`f${i}`));
    (await store.next()).fail(new Error('database is locked'));
    rec.record(logRow('after'));
    const flushed = rec.flush();
    (await store.next()).go();
    await flushed;
    assert.deepEqual(dropped, { queue_full: 0, store_error: 4, unauthenticated_limit: 0, shutdown: 0 });
    assert.deepEqual(store.batches, [['after']]);
    logger.flush();
    assert.ok(lines.join('').includes('request log: the store refused a batch'), lines.join(''));
  });

  test('flush waits for the rows queued before it, not for a flood that follows', async () => {
    const store = heldWriter();
    const rec = new RequestRecorder(store.writer, counting().events, createLogger('silent'), { queueLimit: 1_000, batch: 2, flushMs: 60_000, ...uncapped });
    rec.record(logRow('a'));
    const flushed = rec.flush();
    const b1 = await store.next();
    for (let i = 0; i < 50; i++) rec.record(logRow(`later${i}`));
    b1.go();
    await flushed;
    assert.deepEqual(store.batches, [['a']]);
    assert.ok(rec.queued > 0, 'the later rows are still queued: flush did not wait for them');
  });

  test('rows without an account: a second\'s worth at once, then perSecond a second; rows with one are never capped', async () => {
    const store = heldWriter();
    const { dropped, events } = counting();
    let clock = 1_000;
    const rec = new RequestRecorder(store.writer, events, createLogger('silent'), { queueLimit: 1_000, batch: 1_000, flushMs: 60_000, unauthenticatedPerSecond: 5, now: () => clock });
    for (let i = 0; i < 8; i++) rec.record(logRow(`anon${i}`));
    for (let i = 0; i < 4; i++) rec.record({ ...logRow(`acme${i}`), account_id: 'acme' });
    clock += 400; // two more
    for (let i = 8; i < 11; i++) rec.record(logRow(`anon${i}`));
    assert.deepEqual(dropped, { queue_full: 0, store_error: 0, unauthenticated_limit: 4, shutdown: 0 });
    const flushed = rec.flush();
    (await store.next()).go();
    await flushed;
    assert.deepEqual(store.batches, [['anon0', 'anon1', 'anon2', 'anon3', 'anon4', 'acme0', 'acme1', 'acme2', 'acme3', 'anon8', 'anon9']]);
  });

  test('rows recorded after close are counted as shutdown, not as a full queue', async () => {
    const { dropped, events } = counting();
    const rec = new RequestRecorder(heldWriter().writer, events, createLogger('silent'), { queueLimit: 100, ...uncapped });
    await rec.close();
    rec.record(logRow('late'));
    assert.deepEqual(dropped, { queue_full: 0, store_error: 0, unauthenticated_limit: 0, shutdown: 1 });
  });
});

describe('request log retention', () => {
  let gw: TestGateway;
  const deleted: Array<Record<string, unknown>> = [];
  let sawDelete: (() => void) | undefined;
  before(async () => {
    const sink = new Writable({ write(c, _e, done) {
      for (const l of String(c).split('\n').filter(Boolean)) {
        const line = JSON.parse(l);
        if (line.msg === 'request log: deleted expired') { deleted.push(line); sawDelete?.(); }
      }
      done();
    } });
    gw = await startTestGateway({ adminToken: ADMIN, requestLog: { retentionDays: 2 } }, { logger: createLogger('info', sink), requestLogSweeper: { firstDelayMs: 20, intervalMs: 20 } });
  });
  after(() => gw.close());

  test('rows past requestLog.retentionDays are swept; younger ones stay and are still inspected', async () => {
    const day = 86_400_000;
    const ids = { old: `req_${'1'.repeat(32)}`, young: `req_${'2'.repeat(32)}` };
    const seen = new Promise<void>((r) => (sawDelete = r));
    await gw.store.requestLogWriter.recordRequests([logRow(ids.old, new Date(Date.now() - 2 * day - 60_000).toISOString()), logRow(ids.young, new Date(Date.now() - 2 * day + 3_600_000).toISOString())]);
    await seen;
    assert.equal(deleted[0]!.deleted, 1);
    assertContractError(await http(`${gw.url}/admin/requests/${ids.old}`, { key: ADMIN }), 'request_not_found');
    const young = await http(`${gw.url}/admin/requests/${ids.young}`, { key: ADMIN });
    assert.equal(young.status, 200, young.text);
    assert.equal(young.body.code, 'missing_api_key');
  });
});

await defineInspectorSuite('SQLite', async () => undefined, async () => {});
const pgSkip = await postgresSkipReason();
await defineInspectorSuite('PostgreSQL', async () => (pgSkip ? { skip: pgSkip } : freshPostgresUrl()), async (url) => {
  if (url) await dropSchemaOf(url);
});
