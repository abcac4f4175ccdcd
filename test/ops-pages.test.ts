// The status page and the dashboard's data through HTTP, against a gateway that served a known
// mix of requests (simulator faults for the failures): the figures are the gateway's own, the
// data endpoint wants the admin token, and the public page shows public models only, escaped,
// from a cached copy.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { startTestGateway, simModel, http, type TestGateway } from './helpers/gateway.js';
import { SINGLE_ATTEMPT } from './helpers/routing.js';
import { assertContractError } from './helpers/assert-error.js';
import { createKeyFor } from '../src/keys/bootstrap.js';
import { NANOS_PER_USD } from '../src/store/money.js';
import { TOP_ACCOUNTS_TIMEOUT_MS } from '../src/ops/dashboard-data.js';

const ADMIN = 'admin-token-for-ops-pages-0123456789';
const XSS = 'x<script>alert(1)</script>';
const PRICING = { inputPerMTok: 1000, outputPerMTok: 3000 };
let gw: TestGateway;
let bigKey: string;

function chat(model: string, opts: { key?: string; stream?: boolean; fault?: string; maxTokens?: number } = {}) {
  return http(`${gw.baseURL}/chat/completions`, {
    method: 'POST',
    key: opts.key ?? gw.key,
    headers: opts.fault ? { 'x-sluice-fault': opts.fault } : {},
    body: JSON.stringify({ model, stream: opts.stream ?? false, messages: [{ role: 'user', content: 'Say hello.' }], max_tokens: opts.maxTokens ?? 8 }),
  });
}

/** What the test sent, and so what the window must hold. */
const SENT = { requests: 27, serverErrors: 13, byCode: { engine_error: 12, upstream_unknown_error: 1, invalid_api_key: 1, rate_limit_requests: 1 } };

before(async () => {
  gw = await startTestGateway({
    adminToken: ADMIN,
    models: [
      simModel('chat-a', { pricing: PRICING, ...SINGLE_ATTEMPT }),
      simModel(XSS, { pricing: PRICING }),
      simModel('flaky', { ...SINGLE_ATTEMPT }, { faultRates: { crash: 1 } }),
      simModel('drained', { maintenance: true }),
      simModel('secret-model', { owner: 'acme-corp' }),
      { id: 'queued', deployments: [{ id: 'queued-sim', engine: 'sim', admission: { maxConcurrency: 3, maxQueue: 16 }, sim: { ttftMs: 1, itlMs: 1 } }] },
      // A public LoRA adapter, served on queued's deployment: no deployments of its own.
      { id: 'public-lora', base: 'queued', adapter: { source: '/srv/loras/public-lora' } },
    ],
  });
  bigKey = (await createKeyFor(gw.store, 'big-spender')).key;
  const limitedKey = (await createKeyFor(gw.store, 'limited', { limits: { rpm: 1 } })).key;
  const expect = async (p: Promise<{ status: number; text: string }>, status: number) => {
    const r = await p;
    assert.equal(r.status, status, r.text);
  };
  // Sequential: each answer is in the window before the next request (no race with the reads).
  for (let i = 0; i < 4; i++) await expect(chat('chat-a', { stream: true }), 200);
  for (let i = 0; i < 3; i++) await expect(chat('chat-a'), 200);
  for (let i = 0; i < 2; i++) await expect(chat('chat-a', { fault: 'crash' }), 500);
  await expect(chat('chat-a', { fault: 'status-418' }), 520);
  for (let i = 0; i < 2; i++) await expect(chat('chat-a', { key: bigKey, maxTokens: 64 }), 200);
  for (let i = 0; i < 10; i++) await expect(chat('flaky'), 500);
  await expect(chat('chat-a', { key: 'sk-not-a-real-key-000000000000' }), 401);
  for (let i = 0; i < 2; i++) await expect(chat(XSS, { stream: true }), 200);
  await expect(chat('chat-a', { key: limitedKey }), 200);
  await expect(chat('chat-a', { key: limitedKey }), 429);
  // The ledger rows in the database before the dashboard first reads (and caches) the top spenders.
  await gw.settled();
});

after(async () => {
  await gw?.close();
});

const data = async () => {
  const r = await http(`${gw.url}/admin/dashboard/data`, { key: ADMIN });
  assert.equal(r.status, 200, r.text);
  return r;
};

/** Nearest rank, as the dashboard computes it. */
function nearestRank(sorted: number[], q: number): number {
  return sorted[Math.max(1, Math.ceil(q * sorted.length)) - 1]!;
}

test('the dashboard data counts what the gateway served: requests, server errors, codes, models, time to first token', async () => {
  const { body: d, headers } = await data();
  assert.equal(headers.get('cache-control'), 'no-store');
  assert.equal(d.object, 'dashboard');
  assert.equal(d.traffic.requests, SENT.requests);
  assert.equal(d.traffic.serverErrors, SENT.serverErrors);
  assert.equal(d.traffic.serverErrorRatio, Math.round((SENT.serverErrors / SENT.requests) * 10_000) / 10_000);
  assert.ok(d.window.seconds > 0 && d.window.seconds <= 300);
  // Both figures are rounded to 3 decimals: the rate may differ from one recomputed from the rounded seconds in its last digit.
  assert.ok(Math.abs(d.traffic.requestsPerSecond - SENT.requests / d.window.seconds) <= 0.002, `${d.traffic.requestsPerSecond} requests/s over ${d.window.seconds} s`);
  assert.deepEqual(Object.fromEntries(d.traffic.errorsByCode.map((e: any) => [e.code, e.count])), SENT.byCode);
  assert.deepEqual(d.traffic.errorsByCode.find((e: any) => e.code === 'upstream_unknown_error').status, 520);

  const model = (id: string) => d.models.find((m: any) => m.id === id);
  assert.deepEqual([model('chat-a').requests, model('chat-a').serverErrors], [14, 3]);
  assert.deepEqual([model('flaky').requests, model('flaky').serverErrors], [10, 10]);
  assert.deepEqual([model(XSS).requests, model(XSS).serverErrors], [2, 0]);
  assert.deepEqual([model('chat-a').state, model('flaky').state, model('drained').state, model(XSS).state], ['degraded', 'outage', 'maintenance', 'operational']);
  assert.deepEqual({ state: model('public-lora').state, reason: model('public-lora').reason }, { state: 'operational', reason: 'Operational' });
  assert.equal(model('secret-model').owner, 'acme-corp', 'the admin sees private models, marked');

  // Time to first token: the 6 streams, and the 6 whole answers the simulator reported a first token for.
  assert.equal(d.ttft.count, 12);
  assert.ok(d.ttft.p50Ms > 0 && d.ttft.p50Ms <= d.ttft.p95Ms && d.ttft.p95Ms <= d.ttft.p99Ms, JSON.stringify(d.ttft));

  // The series add up to the totals; the pages' own requests are not traffic.
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  assert.equal(d.series.t.length, 60);
  assert.ok(d.series.t.every((t: number, i: number) => i === 0 || t - d.series.t[i - 1] === 5), 'one point per 5 s slot');
  assert.ok(d.series.t.at(-1) <= Date.now() / 1000 && d.series.t.at(-1) > Date.now() / 1000 - 10, 'the last point is the slot in progress');
  assert.ok(sum(d.series.requestsPerSecond) > 0 && sum(d.series.serverErrorsPerSecond) > 0);
  assert.ok(sum(d.series.errorsPerSecondByCode.engine_error) > 0 && d.series.ttftMs.p50.some((v: number | null) => v !== null));
  await http(`${gw.url}/status`);
  await http(`${gw.url}/metrics`);
  assert.equal((await data()).body.traffic.requests, SENT.requests, 'status, metrics and dashboard reads are not counted');
});

test('the dashboard data shows circuits, health and top spenders from the ledger', async () => {
  const { body: d } = await data();
  const deployment = d.deployments.find((x: any) => x.model === 'drained');
  assert.deepEqual({ ...deployment }, { model: 'drained', deployment: 'drained-sim', circuit: 'closed', health: 'healthy', maintenance: false, inFlight: 0 });
  assert.deepEqual(d.queues, [{ model: 'queued', deployment: 'queued-sim', queued: { critical: 0, standard: 0, batch: 0 }, total: 0, capacity: 16, inService: 0, limit: 3 }], 'the one deployment with an admission queue');
  assert.deepEqual(d.rateLimits, { refused: 1, sinceStart: [{ code: 'rate_limit_requests', scope: 'key', count: 1 }] });
  assert.deepEqual(d.shedSinceStart, []);

  await gw.settled();
  const spent = await gw.store.db.selectFrom('ledger').select(['account_id', (eb) => eb.fn.sum<number>('cost_nanos').as('nanos'), (eb) => eb.fn.countAll<number>().as('n')]).groupBy('account_id').execute();
  const expected = spent.map((r) => ({ account: r.account_id, requests: Number(r.n), spendUsd: Number(r.nanos) / NANOS_PER_USD })).sort((a, b) => b.spendUsd - a.spendUsd);
  assert.equal(expected.length, 3);
  assert.ok(expected[0]!.spendUsd > 0);
  assert.equal(d.topAccounts.available, true);
  assert.deepEqual(d.topAccounts.accounts.map((a: any) => ({ account: a.account, requests: a.requests, spendUsd: a.spendUsd })), expected);
  assert.equal(d.topAccounts.accounts[0].account, 'big-spender', '64 output tokens a request spend more than 8');
  assert.ok(Date.now() - Date.parse(d.topAccounts.since) >= 3_600_000 - 60_000, 'the last hour');
});

test('the dashboard data wants the admin token: 401 in the contract without it or with a wrong one, or with an API key', async () => {
  assertContractError(await http(`${gw.url}/admin/dashboard/data`), 'missing_api_key');
  assertContractError(await http(`${gw.url}/admin/dashboard/data`, { key: `${ADMIN}x` }), 'invalid_api_key');
  assertContractError(await http(`${gw.url}/admin/dashboard/data`, { key: gw.key }), 'invalid_api_key');
});

test('the dashboard page and its files are served without the token, with a strict CSP, uPlot from node_modules', async () => {
  const page = await http(`${gw.url}/admin/dashboard`);
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-type')!, /^text\/html/);
  const csp = page.headers.get('content-security-policy')!;
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /script-src 'self'(;|$)/);
  assert.ok(!csp.includes('unsafe'), csp);
  assert.match(page.text, /<input id="token" name="token" type="password"/);
  assert.ok(!page.text.includes(ADMIN));
  const js = await http(`${gw.url}/admin/dashboard/uplot.min.js`);
  const uplotFile = readFileSync(createRequire(import.meta.url).resolve('uplot/dist/uPlot.iife.min.js'), 'utf8');
  assert.equal(js.text, uplotFile);
  assert.match(js.headers.get('content-type')!, /^text\/javascript/);
  for (const path of ['dashboard.js', 'dashboard.css', 'uplot.min.css']) assert.equal((await http(`${gw.url}/admin/dashboard/${path}`)).status, 200, path);
  const etag = (await http(`${gw.url}/admin/dashboard/dashboard.js`)).headers.get('etag')!;
  assert.equal((await http(`${gw.url}/admin/dashboard/dashboard.js`, { headers: { 'if-none-match': etag } })).status, 304, 'revalidated, not sent again');
});

test('GET /status: public models with their state, escaped; nothing private; cached with Cache-Control and an ETag', async () => {
  const t0 = Date.now();
  const res = await http(`${gw.url}/status`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type')!, /^text\/html/);
  const maxAge = Number(/max-age=(\d+)/.exec(res.headers.get('cache-control')!)?.[1]);
  assert.ok(res.headers.get('cache-control')!.startsWith('public') && maxAge >= 0 && maxAge <= 5, res.headers.get('cache-control')!);
  assert.match(res.headers.get('content-security-policy')!, /default-src 'none'/);
  const html = res.text;
  const row = (id: string) => new RegExp(`<td class="model">${id}</td><td><span class="state state-(\\w+)">`).exec(html)?.[1];
  assert.equal(row('chat-a'), 'degraded');
  assert.equal(row('flaky'), 'outage');
  assert.equal(row('drained'), 'maintenance');
  assert.equal(row('public-lora'), 'operational', "an adapter is judged by its base's deployments");
  assert.equal(row('x&lt;script&gt;alert\\(1\\)&lt;/script&gt;'), 'operational');
  assert.ok(!html.includes('<script'), 'the model id is text, not markup');
  for (const secret of ['secret-model', 'acme-corp', 'tester', 'big-spender', gw.key, bigKey, ADMIN, '-sim']) assert.ok(!html.includes(secret), `the status page shows ${secret}`);

  const etag = res.headers.get('etag')!;
  assert.equal((await http(`${gw.url}/status`, { headers: { 'if-none-match': etag } })).status, 304);
  // A change within the cache period is not seen yet: the crowd reloading the page reads one copy.
  assert.equal((await http(`${gw.url}/admin/models/chat-a`, { method: 'PATCH', key: ADMIN, body: JSON.stringify({ maintenance: true }) })).status, 200);
  try {
    const cached = await http(`${gw.url}/status`);
    if (Date.now() - t0 < 4_000) assert.equal(cached.headers.get('etag'), etag, 'the cached copy');
  } finally {
    await http(`${gw.url}/admin/models/chat-a`, { method: 'PATCH', key: ADMIN, body: JSON.stringify({ maintenance: false }) });
  }
  const head = await fetch(`${gw.url}/status`, { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.match(head.headers.get('content-type')!, /^text\/html/);
  assert.equal(await head.text(), '');
  const css = await http(`${gw.url}/status/status.css`);
  assert.equal(css.status, 200);
  assert.match(css.headers.get('content-type')!, /^text\/css/);
});

test('without an admin token there is no dashboard, and the status page is still served', async () => {
  const plain = await startTestGateway();
  try {
    assert.equal((await http(`${plain.url}/status`)).status, 200);
    assertContractError(await http(`${plain.url}/admin/dashboard`), 'route_not_found');
    assertContractError(await http(`${plain.url}/admin/dashboard/data`, { key: ADMIN }), 'route_not_found');
  } finally {
    await plain.close();
  }
});

test('a store that does not answer leaves the dashboard up, without top spenders, and says so', async () => {
  const g = await startTestGateway({ adminToken: ADMIN });
  await g.store.db.destroy();
  try {
    const r = await http(`${g.url}/admin/dashboard/data`, { key: ADMIN });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.body.topAccounts.accounts, []);
    assert.equal(r.body.topAccounts.available, false);
    assert.equal(typeof r.body.traffic.requests, 'number');
  } finally {
    await g.close().catch(() => undefined);
  }
});

test('a store whose top-spenders query never answers leaves the dashboard answering, without top spenders, within the limit', async () => {
  const g = await startTestGateway({ adminToken: ADMIN });
  let asked = 0;
  // A ledger query stuck behind a lock, or on a connection that went silent.
  g.store.usage.topAccounts = () => {
    asked++;
    return new Promise(() => {});
  };
  try {
    for (let i = 0; i < 2; i++) {
      const t0 = performance.now();
      const r = await http(`${g.url}/admin/dashboard/data`, { key: ADMIN, signal: AbortSignal.timeout(TOP_ACCOUNTS_TIMEOUT_MS + 3_000) });
      assert.equal(r.status, 200, r.text);
      assert.ok(performance.now() - t0 < TOP_ACCOUNTS_TIMEOUT_MS + 1_500, `answered in ${Math.round(performance.now() - t0)} ms`);
      assert.equal(r.body.topAccounts.available, false);
      assert.deepEqual(r.body.topAccounts.accounts, []);
      assert.equal(typeof r.body.traffic.requests, 'number');
    }
    assert.equal(asked, 1, 'asked once: the second read is within the cache period');
  } finally {
    await g.close().catch(() => undefined);
  }
});

test('the first-token percentiles are the streams\' own first-byte times, as the ledger recorded them, within 2%', async () => {
  // A gateway of its own, serving streams only: every time to first token is in the ledger.
  const g = await startTestGateway({ adminToken: ADMIN });
  try {
    for (let i = 0; i < 20; i++) {
      const r = await http(`${g.baseURL}/chat/completions`, { method: 'POST', key: g.key, body: JSON.stringify({ model: 'test-chat', stream: true, messages: [{ role: 'user', content: `Say hello ${i}.` }], max_tokens: 4 }) });
      assert.equal(r.status, 200, r.text);
    }
    await g.settled();
    const d = (await http(`${g.url}/admin/dashboard/data`, { key: ADMIN })).body;
    const rows = await g.store.db.selectFrom('ledger').select('first_byte_ms').execute();
    const ttfts = rows.map((r) => Number(r.first_byte_ms)).sort((a, b) => a - b);
    assert.equal(ttfts.length, 20);
    assert.ok(ttfts.every((t) => t > 0));
    assert.equal(d.ttft.count, 20);
    for (const [q, got] of [[0.5, d.ttft.p50Ms], [0.95, d.ttft.p95Ms], [0.99, d.ttft.p99Ms]] as const) {
      const exact = nearestRank(ttfts, q);
      assert.ok(Math.abs(got - exact) <= exact * 0.02 + 0.02, `p${q * 100}: ${got} ms vs ${exact} ms in the ledger`);
    }
  } finally {
    await g.close();
  }
});
