// The parts behind the status page and the dashboard, on a fake clock: the quantile buckets'
// error bound, the traffic window's slots (what counts as a server error, what leaves the
// window), each model's state (LoRA adapters' included), the status page's cache and escaping,
// and the dashboard's wait for the top spenders.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfigDocument } from '../src/config/load.js';
import { ModelRegistry } from '../src/routing/registry.js';
import { BUCKET_COUNT, bucketOf, quantiles } from '../src/ops/quantile-buckets.js';
import { TrafficWindow, WINDOW_SECONDS, WINDOW_SLOTS, SLOT_SECONDS } from '../src/ops/traffic-window.js';
import { modelStatus, MIN_RECENT_REQUESTS } from '../src/ops/model-status.js';
import { StatusPage, STATUS_CACHE_MS } from '../src/ops/status-page.js';
import { escapeHtml } from '../src/ops/escape-html.js';
import { createDashboardData, TOP_ACCOUNTS_CACHE_MS } from '../src/ops/dashboard-data.js';
import { createMetrics } from '../src/observability/metrics.js';
import type { Store } from '../src/store/store.js';
import type { AccountSpend } from '../src/store/usage-repo.js';
import { Cancellation } from '../src/server/cancellation.js';
import type { GatewayError } from '../src/errors/gateway-error.js';
import { mulberry32 } from '../src/sim/rng.js';

function clock(start = 1_800_000_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

/** Nearest rank: the value at rank ceil(q × n) of the sorted samples. */
function exactQuantile(sorted: number[], q: number): number {
  return sorted[Math.max(1, Math.ceil(q * sorted.length)) - 1]!;
}

test('quantiles read back from the buckets are within 2% of the exact nearest-rank values', () => {
  const rand = mulberry32(7);
  for (const n of [1, 2, 7, 100, 5_000]) {
    const samples = Array.from({ length: n }, () => 1 + Math.exp(rand() * 11)); // 2 ms to ~60 s
    const counts = new Uint32Array(BUCKET_COUNT);
    for (const s of samples) counts[bucketOf(s)]!++;
    const sorted = [...samples].sort((a, b) => a - b);
    const qs = [0.5, 0.95, 0.99];
    const got = quantiles(counts, qs);
    qs.forEach((q, i) => {
      const exact = exactQuantile(sorted, q);
      assert.ok(Math.abs(got[i]! - exact) <= exact * 0.02 + 0.01, `n=${n} q=${q}: ${got[i]} vs exact ${exact}`);
    });
  }
  assert.deepEqual(quantiles(new Uint32Array(BUCKET_COUNT), [0.5]), [null], 'no samples, no quantile');
  assert.equal(bucketOf(Number.NaN), 0);
  assert.equal(bucketOf(1e12), BUCKET_COUNT - 1, 'huge values land in the last bucket');
});

test('the traffic window counts requests, server errors, codes and models, and forgets what is older than the window', () => {
  const c = clock();
  const w = new TrafficWindow(c.now);
  c.advance(WINDOW_SECONDS * 1000); // up for a whole window: the rates are over the window
  w.record('a', 200, '', 12);
  w.record('a', 200, '', 30);
  w.record('a', 500, 'engine_error', undefined);
  w.record('a', 200, 'upstream_invalid_response', 5); // a stream that failed after it started: a server error
  w.record('b', 429, 'rate_limit_requests', undefined); // the client's limit, not a failure
  w.record('', 401, 'invalid_api_key', undefined); // no model resolved
  let t = w.totals();
  assert.equal(t.requests, 6);
  assert.equal(t.serverErrors, 2);
  assert.deepEqual(t.byCode, { engine_error: 1, upstream_invalid_response: 1, rate_limit_requests: 1, invalid_api_key: 1 });
  assert.deepEqual(t.byModel, { a: { requests: 4, serverErrors: 2 }, b: { requests: 1, serverErrors: 0 } });
  assert.equal(t.ttft.count, 3);
  assert.ok(Math.abs(t.ttft.p50Ms! - 12) <= 12 * 0.02, `p50 ${t.ttft.p50Ms}`);
  assert.ok(Math.abs(t.ttft.p99Ms! - 30) <= 30 * 0.02, `p99 ${t.ttft.p99Ms}`);
  assert.ok(t.seconds >= WINDOW_SECONDS - SLOT_SECONDS && t.seconds <= WINDOW_SECONDS, `${t.seconds}`);

  const series = w.series();
  assert.equal(series.length, WINDOW_SLOTS);
  assert.equal(series.at(-1)!.requests, 6, 'the slot in progress is the last point');
  assert.equal(series.slice(0, -1).reduce((n, p) => n + p.requests, 0), 0);

  c.advance(WINDOW_SECONDS * 1000 - SLOT_SECONDS * 1000);
  w.record('a', 200, '', undefined);
  assert.equal(w.totals().requests, 7, 'still inside the window');
  c.advance(SLOT_SECONDS * 1000);
  t = w.totals();
  assert.equal(t.requests, 1, 'the first slot left the window');
  assert.deepEqual(t.byCode, {});
  assert.equal(t.ttft.count, 0);
  assert.equal(t.ttft.p50Ms, null);
});

test('a young window reports rates over its uptime, not over five minutes', () => {
  const c = clock();
  const w = new TrafficWindow(c.now);
  c.advance(10_000);
  assert.equal(w.totals().seconds, 10);
});

const registries: ModelRegistry[] = [];
after(async () => {
  await Promise.all(registries.map((r) => r.close()));
});

function registry(models: unknown[]): ModelRegistry {
  const cfg = parseConfigDocument({ models }, 'test');
  const r = new ModelRegistry(cfg.models);
  registries.push(r);
  return r;
}

const sim = (id: string, extra: Record<string, unknown> = {}) => ({ id, engine: 'sim', ...extra });

test("a model's state: maintenance, outage, degraded by errors or lost capacity, operational", () => {
  const r = registry([
    { id: 'ok', deployments: [sim('d1'), sim('d2')] },
    { id: 'drained', maintenance: true, deployments: [sim('d1')] },
    { id: 'all-deployments-drained', deployments: [sim('d1', { maintenance: true })] },
    { id: 'none', deployments: [] },
    { id: 'open', circuitBreaker: { consecutiveFailures: 1 }, deployments: [sim('d1'), sim('d2')] },
  ]);
  const m = (id: string) => r.get(id)!;
  assert.deepEqual(modelStatus(m('ok'), undefined), { state: 'operational', reason: 'Operational' });
  assert.equal(modelStatus(m('drained'), undefined).state, 'maintenance');
  assert.equal(modelStatus(m('all-deployments-drained'), undefined).state, 'maintenance');
  assert.deepEqual(modelStatus(m('none'), undefined), { state: 'outage', reason: 'Not deployed' });

  const few = { requests: MIN_RECENT_REQUESTS - 1, serverErrors: MIN_RECENT_REQUESTS - 1 };
  assert.equal(modelStatus(m('ok'), few).state, 'operational', 'too few requests to judge a ratio');
  assert.deepEqual(modelStatus(m('ok'), { requests: 100, serverErrors: 5 }), { state: 'degraded', reason: 'Elevated error rate' });
  assert.equal(modelStatus(m('ok'), { requests: 100, serverErrors: 4 }).state, 'operational');
  assert.deepEqual(modelStatus(m('ok'), { requests: 100, serverErrors: 50 }), { state: 'outage', reason: 'Most recent requests failed' });

  const [d1, d2] = m('open').deployments;
  d1!.circuit.failure();
  assert.deepEqual(modelStatus(m('open'), undefined), { state: 'degraded', reason: 'Reduced capacity' });
  d2!.activeHealthy = false;
  assert.deepEqual(modelStatus(m('open'), undefined), { state: 'outage', reason: 'Unavailable' });
  d2!.maintenance = true;
  assert.equal(modelStatus(m('open'), undefined).state, 'outage', 'the one deployment left serving is open');
});

test("a LoRA adapter model is judged by its base's deployments, and degraded while its load failed on every deployment that is up", async () => {
  // Loads are instant; a source under /broken/ fails on the deployment whose simulator says so.
  const dep = (id: string, failAdapters: string[] = []) => sim(id, { sim: { adapterLoadMs: 0, failAdapters } });
  const r = registry([
    { id: 'base', circuitBreaker: { consecutiveFailures: 1 }, deployments: [dep('d1', ['*/broken/*']), dep('d2', ['*/broken/*'])] },
    { id: 'lora', base: 'base', adapter: { source: '/srv/ok/lora', failedLoadTtlMs: 10_000 } },
    { id: 'broken-lora', base: 'base', adapter: { source: '/srv/broken/lora', failedLoadTtlMs: 10_000 } },
  ]);
  const lora = r.get('lora')!;
  const broken = r.get('broken-lora')!;
  const [d1, d2] = r.get('base')!.deployments;
  assert.deepEqual(lora.deployments, [], 'served on its base');
  assert.deepEqual(modelStatus(lora, undefined), { state: 'operational', reason: 'Operational' });
  assert.deepEqual(modelStatus(broken, undefined), { state: 'operational', reason: 'Operational' }, 'no load tried yet');

  // The base's deployments decide: one open circuit is reduced capacity, a drained base is maintenance.
  d1!.circuit.failure();
  assert.deepEqual(modelStatus(lora, undefined), { state: 'degraded', reason: 'Reduced capacity' });
  r.get('base')!.maintenance = true;
  assert.deepEqual(modelStatus(lora, undefined), { state: 'maintenance', reason: 'Under maintenance' });
  r.get('base')!.maintenance = false;
  d2!.activeHealthy = false;
  assert.deepEqual(modelStatus(lora, undefined), { state: 'outage', reason: 'Unavailable' });
  d2!.activeHealthy = true;

  // Failed loads: on d2 only (d1's circuit is open, so d2 is the only deployment up): degraded.
  const load = broken.adapter!.load;
  await assert.rejects(d2!.adapters!.acquire(load, new Cancellation()), (err: GatewayError) => err.code === 'adapter_load_failed');
  const t = performance.now();
  assert.deepEqual(modelStatus(broken, undefined, t), { state: 'degraded', reason: 'Adapter failed to load' });
  assert.equal(modelStatus(lora, undefined, t).state, 'degraded', 'another adapter of the same base: reduced capacity only');
  assert.equal(modelStatus(lora, undefined, t).reason, 'Reduced capacity');
  // d1 up again and not failed there: the adapter can still load somewhere.
  d1!.circuit.forceClose('test');
  assert.deepEqual(modelStatus(broken, undefined, t), { state: 'operational', reason: 'Operational' });
  await assert.rejects(d1!.adapters!.acquire(load, new Cancellation()), (err: GatewayError) => err.code === 'adapter_load_failed');
  assert.deepEqual(modelStatus(broken, undefined, performance.now()), { state: 'degraded', reason: 'Adapter failed to load' });
  assert.deepEqual(modelStatus(broken, undefined, performance.now() + load.failedLoadTtlMs + 1), { state: 'operational', reason: 'Operational' }, 'forgotten after failedLoadTtlMs');
});

test('the status page escapes model ids, leaves out private models, and is rebuilt at most once per cache period', () => {
  const c = clock();
  const r = registry([
    { id: 'x<script>alert(1)</script>', deployments: [sim('d1')] },
    { id: 'tenant-private-model', owner: 'acme', deployments: [sim('d1')] },
    { id: 'plain', deployments: [sim('d1')] },
  ]);
  const page = new StatusPage(r, new TrafficWindow(c.now), STATUS_CACHE_MS, c.now);
  const first = page.current();
  assert.ok(first.html.includes(`<td class="model">${escapeHtml('x<script>alert(1)</script>')}</td>`));
  assert.ok(!first.html.includes('<script'), 'no script element, escaped or not');
  assert.ok(!first.html.includes('tenant-private-model') && !first.html.includes('acme'));
  assert.ok(first.html.includes('All models operational'));
  assert.equal(page.maxAgeSeconds(first), STATUS_CACHE_MS / 1000);

  r.get('plain')!.maintenance = true;
  c.advance(STATUS_CACHE_MS - 1);
  assert.equal(page.current(), first, 'within the cache period the same page, even after a change');
  assert.equal(page.maxAgeSeconds(first), 1);
  c.advance(1);
  const second = page.current();
  assert.notEqual(second.etag, first.etag);
  assert.ok(second.html.includes('Some models are under maintenance'));
  assert.match(second.html, /<td class="model">plain<\/td><td><span class="state state-maintenance">Maintenance<\/span>/);
});

/** A store whose top-spenders queries answer when the test says: each call's resolve and reject, and how many ran at once. */
function controlledStore() {
  const queries: Array<{ resolve(a: AccountSpend[]): void; reject(e: Error): void }> = [];
  let running = 0;
  let maxRunning = 0;
  const usage = {
    topAccounts: () =>
      new Promise<AccountSpend[]>((resolve, reject) => {
        maxRunning = Math.max(maxRunning, ++running);
        const settle = <T>(f: (v: T) => void) => (v: T) => {
          running--;
          f(v);
        };
        queries.push({ resolve: settle(resolve), reject: settle(reject) });
      }),
  };
  return { store: { usage } as unknown as Store, queries, maxRunning: () => maxRunning };
}

/** `p`, or a failure when it has not settled within `ms` (instead of a test that hangs). */
function within<T>(p: Promise<T>, ms = 2_000): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms)))]).finally(() => clearTimeout(timer));
}

const spend = (account: string): AccountSpend => ({ account, requests: 1, inputTokens: 2, outputTokens: 3, costNanos: 4_000 });

test('top spenders: a store that never answers does not hold the dashboard, gets one query at a time, and its late answer or failure counts for its own cache entry', async () => {
  const c = clock();
  const s = controlledStore();
  const TIMEOUT_MS = 50;
  const data = createDashboardData({ registry: registry([]), traffic: new TrafficWindow(c.now), metrics: createMetrics({ defaultMetrics: false }), store: s.store }, c.now, TIMEOUT_MS);
  const spenders = async () => (await within(data())).topAccounts;

  // The first query hangs: the dashboard answers without spenders after the limit.
  const started = performance.now();
  assert.equal((await spenders()).available, false);
  assert.ok(performance.now() - started >= TIMEOUT_MS - 5, 'waited for the limit');
  assert.equal(s.queries.length, 1);
  // Past the cache period it still hangs: no second query beside it.
  c.advance(TOP_ACCOUNTS_CACHE_MS);
  assert.equal((await spenders()).available, false);
  assert.equal(s.queries.length, 1, 'no query while one is under way');

  // It fails at last: the next poll asks again, and that answer is cached for the period.
  s.queries[0]!.reject(new Error('connection lost'));
  await new Promise(setImmediate);
  const asked = data();
  assert.equal(s.queries.length, 2);
  s.queries[1]!.resolve([spend('acme')]);
  assert.deepEqual((await within(asked)).topAccounts.accounts.map((a: { account: string }) => a.account), ['acme']);
  c.advance(TOP_ACCOUNTS_CACHE_MS - 1);
  assert.equal((await spenders()).available, true);
  assert.equal(s.queries.length, 2, 'cached');

  // Slow past the limit, then answering: unavailable first, then its late answer for the rest of the period.
  c.advance(1);
  assert.equal((await spenders()).available, false);
  assert.equal(s.queries.length, 3);
  s.queries[2]!.resolve([spend('late')]);
  await new Promise(setImmediate);
  assert.deepEqual((await spenders()).accounts.map((a: { account: string }) => a.account), ['late']);
  assert.equal(s.queries.length, 3);
  assert.equal(s.maxRunning(), 1, 'never two queries at once');
});

test('escapeHtml escapes the five characters that matter in text and attributes', () => {
  assert.equal(escapeHtml(`<a href="x" title='y'>&</a>`), '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;');
});
