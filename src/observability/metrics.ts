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
  queue: { running: number; capacity: number; queued(priority?: 'critical' | 'standard' | 'batch'): number };
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

/** What the adapter gauge reads of each deployment that serves LoRA adapters. */
export interface AdapterDeploymentView {
  /** The base model. */
  model: string;
  deployment: string;
  loaded: number;
}

/** What the ledger gauges read: rows journaled and not yet in the database, and the oldest one's age. */
export interface LedgerView {
  backlog(): { rows: number; ageSeconds: number };
}

// Bucket boundaries advised by the OpenTelemetry GenAI semantic conventions for each metric, so
// that dashboards built on the conventions read ours alike. The first-token objective in
// deploy/prometheus/alerts.yml counts `le="1"`: keep 1 a boundary.
const TTFT_BUCKETS = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];
const TPOT_BUCKETS = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5];
const DURATION_BUCKETS = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92];
const TOKEN_BUCKETS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864];

/** The conventions' gen_ai.operation.name for each endpoint. */
const OPERATION = { chat: 'chat', completions: 'text_completion', embeddings: 'embeddings' } as const;

/**
 * A histogram's labelled children, found by a key the caller builds cheaply: prom-client's
 * observe(labels, v) sorts and joins the label names on every call, four times a request here.
 * Bounded: label values are configured ids and catalog codes, but a bound costs nothing.
 */
class Children<L extends string> {
  private readonly cache = new Map<string, { observe(v: number): void }>();

  constructor(private readonly histogram: Histogram<L>) {}

  observe(key: string, labels: () => LabelValues<L>, value: number | undefined): void {
    // prom-client throws on a value that is not a finite number; an engine's usage may lack a
    // count, and a metric must never fail the request it describes.
    if (typeof value !== 'number' || !Number.isFinite(value)) return;
    let child = this.cache.get(key);
    if (!child) {
      child = this.histogram.labels(labels());
      if (this.cache.size < 10_000) this.cache.set(key, child);
    }
    child.observe(value);
  }
}

/** How long a scrape waits for the store's ping before it reports the store down. */
const STORE_PING_TIMEOUT_MS = 2_000;

/** The store's answer to a ping within the timeout: 1, or 0 on an error or no answer. */
async function pingWithin(ping: () => Promise<void>, ms: number): Promise<number> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<number>((resolve) => (timer = setTimeout(() => resolve(0), ms)));
  try {
    return await Promise.race([ping().then(() => 1, () => 0), late]);
  } finally {
    clearTimeout(timer);
  }
}

export function createMetrics(opts: { defaultMetrics?: boolean } = {}) {
  const registry = new Registry();
  if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'sluice_' });
  const requests = new PendingCounts<'endpoint' | 'model' | 'deployment' | 'status' | 'code'>();
  /** Requests being served now: kept by the gateway, read at scrape time. */
  const active = { count: 0 };
  /** Deployments with admission, read at scrape time (set once the registry exists). */
  const admissions: { list: () => AdmissionView[] } = { list: () => [] };
  /** Deployments polling their engine's load (engineMetrics), read at scrape time. */
  const engineLoads: { list: () => EngineLoadView[] } = { list: () => [] };
  /** Every deployment's routing state, read at scrape time. */
  const deployments: { list: () => DeploymentView[] } = { list: () => [] };
  /** Deployments serving LoRA adapters, read at scrape time. */
  const adapterDeployments: { list: () => AdapterDeploymentView[] } = { list: () => [] };
  /** The store's health check and the ledger's backlog, read at scrape time. */
  const store: { ping: () => Promise<void> } = { ping: async () => undefined };
  const ledger: LedgerView = { backlog: () => ({ rows: 0, ageSeconds: 0 }) };
  /** Sets a gauge per polling deployment from its fresh reading; a stale one is removed, not left at its last value. */
  const engineGauge = (gauge: Gauge<'deployment'>, read: (r: NonNullable<ReturnType<EngineLoadView['load']['latest']>>) => number | undefined) => {
    gauge.reset();
    for (const e of engineLoads.list()) {
      const r = e.load.latest();
      const v = r && read(r);
      if (v !== undefined) gauge.set({ deployment: e.deployment }, v);
    }
  };
  const duration = new Histogram({
    name: 'gen_ai_server_request_duration_seconds',
    help: 'Inference requests: time from arrival to the last byte of the response, by operation, model and error type (the error code; empty on success).',
    labelNames: ['gen_ai_operation_name', 'gen_ai_request_model', 'error_type'] as const,
    buckets: DURATION_BUCKETS,
    registers: [registry],
  });
  const timeToFirstToken = new Histogram({
    name: 'gen_ai_server_time_to_first_token_seconds',
    help: 'Streams: time from request arrival to the first event sent to the client.',
    labelNames: ['gen_ai_operation_name', 'gen_ai_request_model'] as const,
    buckets: TTFT_BUCKETS,
    registers: [registry],
  });
  const timePerOutputToken = new Histogram({
    name: 'gen_ai_server_time_per_output_token_seconds',
    help: 'Successful streams: time after the first token per further output token.',
    labelNames: ['gen_ai_operation_name', 'gen_ai_request_model'] as const,
    buckets: TPOT_BUCKETS,
    registers: [registry],
  });
  const tokenUsage = new Histogram({
    name: 'gen_ai_client_token_usage',
    help: "Tokens per request as the engine reported them, by type (input, output); the _sum is the total.",
    labelNames: ['gen_ai_operation_name', 'gen_ai_request_model', 'gen_ai_token_type'] as const,
    buckets: TOKEN_BUCKETS,
    registers: [registry],
  });
  const histograms = { duration: new Children(duration), timeToFirstToken: new Children(timeToFirstToken), timePerOutputToken: new Children(timePerOutputToken), tokens: new Children(tokenUsage) };
  return {
    registry,
    active,
    admissions,
    engineLoads,
    deployments,
    adapterDeployments,
    store,
    ledger,
    /**
     * One answered request (its counter is updated at the next scrape). `model` and `deployment`
     * are configured ids (empty when none was resolved), never what the client sent.
     */
    countRequest(endpoint: string, model: string, deployment: string, status: number, code: string): void {
      requests.add(`${endpoint}\u0000${model}\u0000${deployment}\u0000${status}\u0000${code}`, () => ({ endpoint, model, deployment, status, code }));
    },
    /**
     * The GenAI histograms of one inference request. `firstTokenS` is known for streams that
     * started and for whole answers whose engine said when its first token came; time per output
     * token needs it and more than one output token.
     */
    observeInference(endpoint: keyof typeof OPERATION, model: string, errorType: string, seconds: number, firstTokenS: number | undefined, usage: { prompt_tokens: number; completion_tokens?: number } | undefined): void {
      const operation = OPERATION[endpoint];
      const key = `${operation}\u0000${model}`;
      const op = () => ({ gen_ai_operation_name: operation, gen_ai_request_model: model });
      histograms.duration.observe(`${key}\u0000${errorType}`, () => ({ ...op(), error_type: errorType }), seconds);
      if (firstTokenS !== undefined) histograms.timeToFirstToken.observe(key, op, firstTokenS);
      if (!usage) return;
      histograms.tokens.observe(`${key}\u0000input`, () => ({ ...op(), gen_ai_token_type: 'input' }), usage.prompt_tokens);
      const out = usage.completion_tokens;
      if (endpoint !== 'embeddings') histograms.tokens.observe(`${key}\u0000output`, () => ({ ...op(), gen_ai_token_type: 'output' }), out);
      if (firstTokenS !== undefined && out !== undefined && out > 1 && errorType === '') histograms.timePerOutputToken.observe(key, op, (seconds - firstTokenS) / (out - 1));
    },
    requests: new Counter({
      name: 'sluice_requests_total',
      help: 'Requests answered, by endpoint, model, deployment (of the last attempt), HTTP status and error code (empty on success).',
      labelNames: ['endpoint', 'model', 'deployment', 'status', 'code'] as const,
      registers: [registry],
      collect() {
        requests.flushInto(this);
      },
    }),
    duration,
    timeToFirstToken,
    timePerOutputToken,
    tokenUsage,
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
    admissionCapacity: new Gauge({
      name: 'sluice_admission_queue_capacity',
      help: 'Requests the admission queue holds at most (maxQueue), by deployment: queue length over this is saturation.',
      labelNames: ['deployment'] as const,
      registers: [registry],
      collect() {
        for (const a of admissions.list()) this.set({ deployment: a.deployment }, a.queue.capacity);
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
    adapterLoads: new Counter({
      name: 'sluice_adapter_loads_total',
      help: 'LoRA adapter loads on a deployment, by base model and result (loaded, failed).',
      labelNames: ['model', 'deployment', 'result'] as const,
      registers: [registry],
    }),
    adapterUnloads: new Counter({
      name: 'sluice_adapter_unloads_total',
      help: 'LoRA adapters unloaded from a deployment (least recently used, past maxAdapters), by base model.',
      labelNames: ['model', 'deployment'] as const,
      registers: [registry],
    }),
    adaptersLoaded: new Gauge({
      name: 'sluice_adapters_loaded',
      help: 'LoRA adapters this replica has loaded on a deployment, by base model.',
      labelNames: ['model', 'deployment'] as const,
      registers: [registry],
      collect() {
        for (const d of adapterDeployments.list()) this.set({ model: d.model, deployment: d.deployment }, d.loaded);
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
    storeUp: new Gauge({
      name: 'sluice_store_up',
      help: 'Whether the store (SQLite or PostgreSQL) answered a ping during this scrape: 1 yes, 0 no.',
      registers: [registry],
      async collect() {
        this.set(await pingWithin(store.ping, STORE_PING_TIMEOUT_MS));
      },
    }),
    storeErrors: new Counter({
      name: 'sluice_store_errors_total',
      help: 'Store calls that failed, by operation (reserve: credit reservations, ledger: ledger batches, ready: the readiness check).',
      labelNames: ['op'] as const,
      registers: [registry],
    }),
    requestLogDropped: new Counter({
      name: 'sluice_request_log_dropped_total',
      help: 'Request-log rows (what the request inspector shows of failed, refused and retried requests) not written, by reason: queue_full (a flood or a slow store), store_error (the store refused their batch), unauthenticated_limit (beyond requestLog.unauthenticatedPerSecond rows of requests no API key was accepted for) or shutdown (recorded after the log was closed).',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    ledgerBacklogRows: new Gauge({
      name: 'sluice_ledger_backlog_rows',
      help: 'Ledger rows journaled on local disk and not yet committed to the store.',
      registers: [registry],
      collect() {
        this.set(ledger.backlog().rows);
      },
    }),
    ledgerBacklogAge: new Gauge({
      name: 'sluice_ledger_backlog_age_seconds',
      help: 'Age of the oldest ledger row not yet committed to the store (at most one apply cycle older); 0 when none waits.',
      registers: [registry],
      collect() {
        this.set(ledger.backlog().ageSeconds);
      },
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
