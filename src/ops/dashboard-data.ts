// GET /admin/dashboard/data: what the admin dashboard shows, as JSON, computed when it is read
// from what the gateway keeps anyway: the traffic window (traffic-window.ts), the registry's
// queues, circuits and health, the rate-limit and shedding counters of the Prometheus metrics,
// and the ledger's top spenders (one bounded query, cached, however many dashboards poll, and
// waited for TOP_ACCOUNTS_TIMEOUT_MS at most). The ledger is read as it stands: rows still in this
// replica's journal (some 20 ms' worth) join it at the next apply. It is not flushed for the read,
// which would also give back the credit leases that spare the request path its database round trips.
import { catalog, type ErrorCode } from '../errors/catalog.js';
import type { Metrics } from '../observability/metrics.js';
import type { ModelRegistry } from '../routing/registry.js';
import { PRIORITIES } from '../admission/admission-queue.js';
import { nanosToUsd } from '../store/money.js';
import type { Store } from '../store/store.js';
import type { AccountSpend } from '../store/usage-repo.js';
import { modelStatus } from './model-status.js';
import { SLOT_SECONDS, WINDOW_SECONDS, type TrafficWindow } from './traffic-window.js';

/** The top spenders cover the last hour, and the ledger is asked at most this often. */
export const TOP_ACCOUNTS_WINDOW_MS = 60 * 60 * 1000;
export const TOP_ACCOUNTS_CACHE_MS = 10_000;
export const TOP_ACCOUNTS_LIMIT = 10;
/** How long a dashboard read waits for the top spenders before it answers without them. */
export const TOP_ACCOUNTS_TIMEOUT_MS = 2_000;

export interface DashboardSources {
  registry: ModelRegistry;
  traffic: TrafficWindow;
  metrics: Metrics;
  store: Store;
}

const round = (x: number, digits = 3) => Math.round(x * 10 ** digits) / 10 ** digits;

/** A counter's values since the gateway started, by label set (prom-client keeps them). */
async function counterValues(counter: { get(): Promise<{ values: Array<{ labels: Record<string, string | number>; value: number }> }> }) {
  return (await counter.get()).values.filter((v) => v.value > 0).map((v) => ({ ...v.labels, count: v.value }));
}

type Spenders = { since: string; available: boolean; accounts: AccountSpend[] };

/**
 * `topAccountsTimeoutMs`: how long the dashboard waits for the ledger's top spenders before it
 * answers without them (available: false); a store that hangs must not hang the dashboard.
 */
export function createDashboardData(src: DashboardSources, now: () => number = Date.now, topAccountsTimeoutMs = TOP_ACCOUNTS_TIMEOUT_MS) {
  let top: { at: number; value: Promise<Spenders> } | undefined;
  /**
   * The ledger query under way, however late. While it runs no other is started: a store that
   * hangs gets one query from the dashboards, not one more per poll to fill its connection pool.
   */
  let querying: Promise<AccountSpend[]> | undefined;

  function topAccounts(): Promise<Spenders> {
    const t = now();
    if (top && t - top.at < TOP_ACCOUNTS_CACHE_MS) return top.value;
    const sinceDate = new Date(t - TOP_ACCOUNTS_WINDOW_MS);
    const since = sinceDate.toISOString();
    const unavailable: Spenders = { since, available: false, accounts: [] };
    if (querying) return Promise.resolve(unavailable);
    const query = src.store.usage.topAccounts(sinceDate, TOP_ACCOUNTS_LIMIT);
    querying = query;
    const entry: { at: number; value: Promise<Spenders> } = { at: t, value: Promise.resolve(unavailable) };
    // Each handler acts on its own entry only: by the time it runs a newer one may be cached.
    const forget = () => {
      if (top === entry) top = undefined;
      return unavailable;
    };
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timed out'>((resolve) => {
      timer = setTimeout(resolve, topAccountsTimeoutMs, 'timed out');
      // A closing gateway is not held open by it.
      timer.unref();
    });
    // A store that fails leaves the rest of the dashboard up: no spenders, said so, asked again next
    // poll. One that is slow is answered without them for this cache period.
    entry.value = Promise.race([query, timedOut]).then((accounts) => (accounts === 'timed out' ? unavailable : { since, available: true, accounts }), forget);
    query.then(
      (accounts) => {
        clearTimeout(timer);
        querying = undefined;
        // A late answer still serves the rest of its cache period.
        if (top === entry) entry.value = Promise.resolve({ since, available: true, accounts });
      },
      () => {
        clearTimeout(timer);
        querying = undefined;
        forget();
      },
    );
    top = entry;
    return entry.value;
  }

  return async function dashboardData() {
    const totals = src.traffic.totals();
    const points = src.traffic.series();
    const registry = src.registry.list();
    const codes = Object.keys(totals.byCode).sort();
    const spenders = await topAccounts();
    const perSecond = (n: number, seconds: number) => round(n / seconds);
    return {
      object: 'dashboard',
      generatedAt: new Date(now()).toISOString(),
      window: { seconds: totals.seconds, slotSeconds: SLOT_SECONDS, spanSeconds: WINDOW_SECONDS },
      traffic: {
        requests: totals.requests,
        requestsPerSecond: perSecond(totals.requests, totals.seconds),
        serverErrors: totals.serverErrors,
        serverErrorRatio: totals.requests === 0 ? 0 : round(totals.serverErrors / totals.requests, 4),
        errorsByCode: codes
          .map((code) => ({ code, status: catalog[code as ErrorCode]?.status ?? null, count: totals.byCode[code]!, perSecond: perSecond(totals.byCode[code]!, totals.seconds) }))
          .sort((a, b) => b.count - a.count || a.code.localeCompare(b.code)),
      },
      ttft: totals.ttft,
      rateLimits: {
        refused: (totals.byCode.rate_limit_requests ?? 0) + (totals.byCode.rate_limit_tokens ?? 0),
        sinceStart: await counterValues(src.metrics.rateLimited),
      },
      shedSinceStart: await counterValues(src.metrics.admissionShed),
      queues: registry.flatMap((m) =>
        m.deployments.flatMap((d) => {
          const a = d.admission;
          if (!a) return [];
          const queued = Object.fromEntries(PRIORITIES.map((p) => [p, a.queue.queued(p)]));
          return [{ model: m.config.id, deployment: d.config.id, queued, total: a.queue.queued(), capacity: a.queue.capacity, inService: a.queue.running, limit: a.limit() }];
        }),
      ),
      deployments: registry.flatMap((m) =>
        m.deployments.map((d) => {
          const circuit = d.circuit.current;
          const reopensInMs = circuit === 'open' ? Math.max(0, Math.ceil(d.circuit.reopensAt - performance.now())) : undefined;
          return { model: m.config.id, deployment: d.config.id, circuit, ...(reopensInMs !== undefined && { reopensInMs }), health: d.activeHealthy ? 'healthy' : 'unhealthy', maintenance: d.maintenance, inFlight: d.outstanding };
        }),
      ),
      models: registry.map((m) => {
        const recent = totals.byModel[m.config.id] ?? { requests: 0, serverErrors: 0 };
        return { id: m.config.id, ...(m.config.owner !== undefined && { owner: m.config.owner }), ...modelStatus(m, recent), requests: recent.requests, serverErrors: recent.serverErrors };
      }),
      topAccounts: {
        since: spenders.since,
        /** false when the store did not answer. */
        available: spenders.available,
        accounts: spenders.accounts.map((a) => ({ account: a.account, requests: a.requests, inputTokens: a.inputTokens, outputTokens: a.outputTokens, spendUsd: nanosToUsd(a.costNanos) })),
      },
      series: {
        t: points.map((p) => p.t),
        requestsPerSecond: points.map((p) => perSecond(p.requests, p.seconds)),
        serverErrorsPerSecond: points.map((p) => perSecond(p.serverErrors, p.seconds)),
        errorsPerSecondByCode: Object.fromEntries(codes.map((code) => [code, points.map((p) => perSecond(p.byCode[code] ?? 0, p.seconds))])),
        ttftMs: { p50: points.map((p) => p.ttftMs[0]), p95: points.map((p) => p.ttftMs[1]), p99: points.map((p) => p.ttftMs[2]) },
      },
    };
  };
}

export type DashboardData = Awaited<ReturnType<ReturnType<typeof createDashboardData>>>;
