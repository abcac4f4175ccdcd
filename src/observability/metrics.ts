// Every Prometheus metric Sluice exports, named in this one file. One registry per gateway, so
// tests can run several gateways in one process.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, type LabelValues } from 'prom-client';

/**
 * Counter increments kept in a plain map on the request path and handed to prom-client when it
 * is scraped (its collect hook): prom-client builds and sorts a label key on every inc() with
 * labels, three times a request here.
 */
class PendingCounts<L extends string> {
  private readonly counts = new Map<string, { labels: LabelValues<L>; n: number }>();

  add(key: string, labels: () => LabelValues<L>, n = 1): void {
    const c = this.counts.get(key);
    if (c) c.n += n;
    else this.counts.set(key, { labels: labels(), n });
  }

  flushInto(counter: Counter<L>): void {
    for (const c of this.counts.values()) {
      const n = c.n;
      c.n = 0;
      // A count that is not a finite positive number would poison the counter (or throw) for good.
      if (n > 0 && Number.isFinite(n)) counter.inc(c.labels, n);
    }
  }
}

const PRIORITY_LABELS = ['critical', 'standard', 'batch'] as const;

/** What the admission gauges read of one deployment. */
export interface AdmissionView {
  deployment: string;
  queue: { running: number; queued(priority?: 'critical' | 'standard' | 'batch'): number };
  limit(): number;
}

/** What the engine-load gauges read of one deployment that polls its engine. */
export interface EngineLoadView {
  deployment: string;
  load: { latest(): { running: number; waiting: number; kvCacheUsage: number | undefined } | undefined; saturated(): boolean };
}

/** What the routing gauges read of every deployment. */
export interface DeploymentView {
  model: string;
  deployment: string;
  outstanding: number;
  /** 0 closed, 1 half-open, 2 open. */
  circuit: number;
  healthy: boolean;
}

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

export function createMetrics(opts: { defaultMetrics?: boolean } = {}) {
  const registry = new Registry();
  if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'sluice_' });
  const requests = new PendingCounts<'endpoint' | 'model' | 'status' | 'code'>();
  const tokens = new PendingCounts<'model' | 'kind'>();
  /** Requests being served now: kept by the gateway, read at scrape time. */
  const active = { count: 0 };
  /** Deployments with admission, read at scrape time (set once the registry exists). */
  const admissions: { list: () => AdmissionView[] } = { list: () => [] };
  /** Deployments polling their engine's load (engineMetrics), read at scrape time. */
  const engineLoads: { list: () => EngineLoadView[] } = { list: () => [] };
  /** Every deployment's routing state, read at scrape time. */
  const deployments: { list: () => DeploymentView[] } = { list: () => [] };
  /** Sets a gauge per polling deployment from its fresh reading; a stale one is removed, not left at its last value. */
  const engineGauge = (gauge: Gauge<'deployment'>, read: (r: NonNullable<ReturnType<EngineLoadView['load']['latest']>>) => number | undefined) => {
    gauge.reset();
    for (const e of engineLoads.list()) {
      const r = e.load.latest();
      const v = r && read(r);
      if (v !== undefined) gauge.set({ deployment: e.deployment }, v);
    }
  };
  return {
    registry,
    active,
    admissions,
    engineLoads,
    deployments,
    /** One answered request (its counter is updated at the next scrape). */
    countRequest(endpoint: string, model: string, status: number, code: string): void {
      requests.add(`${endpoint}\u0000${model}\u0000${status}\u0000${code}`, () => ({ endpoint, model, status, code }));
    },
    countTokens(model: string, prompt: number, completion: number): void {
      tokens.add(`${model}\u0000p`, () => ({ model, kind: 'prompt' }), prompt);
      tokens.add(`${model}\u0000c`, () => ({ model, kind: 'completion' }), completion);
    },
    requests: new Counter({
      name: 'sluice_requests_total',
      help: 'Requests answered, by endpoint, model, HTTP status and error code (empty on success).',
      labelNames: ['endpoint', 'model', 'status', 'code'] as const,
      registers: [registry],
      collect() {
        requests.flushInto(this);
      },
    }),
    duration: new Histogram({
      name: 'sluice_request_duration_seconds',
      help: 'Time from request arrival to the last byte of the response.',
      labelNames: ['endpoint', 'model'] as const,
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    firstByte: new Histogram({
      name: 'sluice_stream_first_byte_seconds',
      help: 'Streams: time from request arrival to the first event sent to the client.',
      labelNames: ['model'] as const,
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    tokens: new Counter({
      name: 'sluice_tokens_total',
      help: 'Tokens processed, as reported by the engines.',
      labelNames: ['model', 'kind'] as const,
      registers: [registry],
      collect() {
        tokens.flushInto(this);
      },
    }),
    rateLimited: new Counter({
      name: 'sluice_rate_limited_total',
      help: 'Requests refused by a rate limit, by error code and the scope of the limit that refused (key, account, model).',
      labelNames: ['code', 'scope'] as const,
      registers: [registry],
    }),
    limitStoreErrors: new Counter({
      name: 'sluice_limit_store_errors_total',
      help: 'Rate-limit store (Redis) calls that failed or timed out, by operation and reason.',
      labelNames: ['op', 'reason'] as const,
      registers: [registry],
    }),
    limitFailOpen: new Counter({
      name: 'sluice_limit_fail_open_total',
      help: 'Rate-limit decisions made in this replica\'s memory because the shared store was down (failOpen).',
      registers: [registry],
    }),
    admissionQueued: new Gauge({
      name: 'sluice_admission_queue_length',
      help: 'Requests waiting for admission, by deployment and priority class.',
      labelNames: ['deployment', 'priority'] as const,
      registers: [registry],
      collect() {
        for (const a of admissions.list()) for (const p of PRIORITY_LABELS) this.set({ deployment: a.deployment, priority: p }, a.queue.queued(p));
      },
    }),
    admissionRunning: new Gauge({
      name: 'sluice_admission_in_service',
      help: 'Requests admitted to a deployment and not yet finished.',
      labelNames: ['deployment'] as const,
      registers: [registry],
      collect() {
        for (const a of admissions.list()) this.set({ deployment: a.deployment }, a.queue.running);
      },
    }),
    admissionLimit: new Gauge({
      name: 'sluice_admission_limit',
      help: "A deployment's concurrency limit in force (it moves when adaptive).",
      labelNames: ['deployment'] as const,
      registers: [registry],
      collect() {
        for (const a of admissions.list()) this.set({ deployment: a.deployment }, a.limit());
      },
    }),
    admissionWait: new Histogram({
      name: 'sluice_admission_wait_seconds',
      help: 'Time admitted requests waited in the queue, by deployment and priority class.',
      labelNames: ['deployment', 'priority'] as const,
      buckets: [0, 0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    admissionShed: new Counter({
      name: 'sluice_admission_shed_total',
      help: 'Requests shed by admission, by deployment, priority class and code (server_overloaded, queue_timeout).',
      labelNames: ['deployment', 'priority', 'code'] as const,
      registers: [registry],
    }),
    engineRunning: new Gauge({
      name: 'sluice_engine_requests_running',
      help: "Requests the engine reports running (vllm:num_requests_running), by deployment; absent while its metrics are unknown.",
      labelNames: ['deployment'] as const,
      registers: [registry],
      collect() {
        engineGauge(this, (r) => r.running);
      },
    }),
    engineWaiting: new Gauge({
      name: 'sluice_engine_requests_waiting',
      help: "Requests waiting in the engine's own queue (vllm:num_requests_waiting), by deployment.",
      labelNames: ['deployment'] as const,
      registers: [registry],
      collect() {
        engineGauge(this, (r) => r.waiting);
      },
    }),
    engineKvCache: new Gauge({
      name: 'sluice_engine_kv_cache_usage_ratio',
      help: "The engine's KV-cache use, 0 to 1 (vllm:kv_cache_usage_perc), by deployment.",
      labelNames: ['deployment'] as const,
      registers: [registry],
      collect() {
        engineGauge(this, (r) => r.kvCacheUsage);
      },
    }),
    engineSaturated: new Gauge({
      name: 'sluice_engine_saturated',
      help: "1 while admission holds requests back because the engine's own queue is past maxWaiting.",
      labelNames: ['deployment'] as const,
      registers: [registry],
      collect() {
        for (const e of engineLoads.list()) this.set({ deployment: e.deployment }, e.load.saturated() ? 1 : 0);
      },
    }),
    engineMetricsErrors: new Counter({
      name: 'sluice_engine_metrics_errors_total',
      help: "Polls of an engine's metrics endpoint that failed, by deployment.",
      labelNames: ['deployment'] as const,
      registers: [registry],
    }),
    deploymentOutstanding: new Gauge({
      name: 'sluice_deployment_outstanding_requests',
      help: 'Attempts this replica has in flight on a deployment (the balancer\'s load signal).',
      labelNames: ['model', 'deployment'] as const,
      registers: [registry],
      collect() {
        for (const d of deployments.list()) this.set({ model: d.model, deployment: d.deployment }, d.outstanding);
      },
    }),
    circuitState: new Gauge({
      name: 'sluice_deployment_circuit_state',
      help: "A deployment's circuit: 0 closed, 1 half-open (a probe may pass), 2 open (no traffic until its cooldown ends).",
      labelNames: ['model', 'deployment'] as const,
      registers: [registry],
      collect() {
        for (const d of deployments.list()) this.set({ model: d.model, deployment: d.deployment }, d.circuit);
      },
    }),
    deploymentHealthy: new Gauge({
      name: 'sluice_deployment_healthy',
      help: "1 while a deployment passes its active health checks (always 1 without them).",
      labelNames: ['model', 'deployment'] as const,
      registers: [registry],
      collect() {
        for (const d of deployments.list()) this.set({ model: d.model, deployment: d.deployment }, d.healthy ? 1 : 0);
      },
    }),
    circuitTransitions: new Counter({
      name: 'sluice_deployment_circuit_transitions_total',
      help: "Changes of a deployment's circuit, by the state entered.",
      labelNames: ['model', 'deployment', 'state'] as const,
      registers: [registry],
    }),
    retries: new Counter({
      name: 'sluice_retries_total',
      help: 'Attempts retried (on another deployment, the same, or a fallback model), by model and the failure retried.',
      labelNames: ['model', 'code'] as const,
      registers: [registry],
    }),
    retryBudgetExhausted: new Counter({
      name: 'sluice_retry_budget_exhausted_total',
      help: "Retries not made because the model's retry budget was spent.",
      labelNames: ['model'] as const,
      registers: [registry],
    }),
    inFlight: new Gauge({
      name: 'sluice_requests_in_flight',
      help: 'Requests being served right now.',
      registers: [registry],
      collect() {
        this.set(active.count);
      },
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
