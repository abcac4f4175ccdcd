// The configuration file's schema. Field names here are the public interface (README, docs).
import { z } from 'zod';

const faultNames = ['crash', 'hang', 'slow-first-token', 'cut-stream', 'invalid-json', 'reset', 'capacity', 'rate-limited', 'status-418'] as const;
export const faultSchema = z.enum(faultNames);
export type FaultName = z.infer<typeof faultSchema>;
export const FAULT_NAMES: readonly FaultName[] = faultNames;

/** The most blocks a simulated prefix cache may hold (16M tokens at 16 a block): its LRU index allocates ~24 bytes a block up front. */
export const MAX_PREFIX_BLOCKS = 1_000_000;

export const simSettingsSchema = z.strictObject({
  /**
   * Fixed part of the time to first token (API server, tokenization, scheduling): spent by each
   * request on its own before it joins the batch, so it does not slow the other sequences.
   */
  ttftMs: z.number().min(0).default(20),
  /** Decode step time with one sequence in the batch: the inter-token latency of a lone request. */
  itlMs: z.number().min(0).default(5),
  /**
   * Prefill cost per prompt token the prefix cache does not hold. The prefill runs in the step
   * after the request joins the batch and lengthens that step for every sequence in it, as vLLM
   * without chunked prefill stalls the ongoing decodes. Default: an 8B model in bf16 on one H100,
   * ~30k prompt tokens/s. Prefill is compute-bound, ~2 FLOPs per weight per token (14-16 GFLOPs
   * for Llama-3.1-8B): 989 TFLOPS (H100 SXM, dense bf16) at the ~50% that prefill reaches gives
   * ~0.03 ms a token, 312 TFLOPS (A100) ~0.1. NVIDIA's published runs of Llama-3.1-8B-based NIMs
   * bracket it: time to first token 48 ms for 500-token prompts on an A100 80GB, 15.7 ms for
   * 1,000-token prompts on a GH200 (H100-class), both bf16 at concurrency 1, so at most ~0.1 and
   * ~0.016 ms a token (docs.nvidia.com/nim/llama-3-1-nemotron-safety-guard-8b/1.10.1/performance
   * and /1.14.0/performance). A 2,000-token prompt thus costs 60 ms, which a cache hit saves.
   */
  prefillMsPerToken: z.number().min(0).default(0.03),
  /**
   * vLLM's automatic prefix caching (src/sim/prefix-cache.ts): prompts are cut into blocks of
   * blockTokens tokens (vLLM's default block size, 16), and up to maxBlocks blocks are kept, least
   * recently used evicted; a prompt's cached head costs no prefill. maxBlocks defaults to
   * kvCacheTokens / blockTokens (the whole KV cache, as on vLLM, where cached blocks are the free
   * part of the KV memory); 0 turns the cache off.
   */
  prefixCache: z.strictObject({
    blockTokens: z.number().int().min(1).max(4096).default(16),
    maxBlocks: z.number().int().min(0).max(MAX_PREFIX_BLOCKS).optional(),
  }).prefault({}),
  /**
   * How a decode step slows down as the batch grows (src/sim/batch.ts explains the model and its
   * sources): stepMs(b) = itlMs × max(1 + stepGrowth × (b − 1), b / kneeSeqs) for b sequences
   * (choices) decoding at once. Below the knee the step is memory-bound (the weights are read once
   * a step whatever the batch; stepGrowth is each sequence's KV-cache read, ~1% of an 8B model's
   * weights at ~1k tokens of context); above it, compute-bound (the step grows linearly with the
   * batch). Total throughput rises with concurrency up to ~kneeSeqs, then flattens at
   * kneeSeqs / itlMs tokens per ms. kneeSeqs ≥ maxNumSeqs with stepGrowth 0: a constant itlMs.
   */
  load: z.strictObject({
    kneeSeqs: z.number().min(1).default(32),
    stepGrowth: z.number().min(0).default(0.01),
  }).prefault({}),
  /**
   * KV-cache capacity in tokens: vllm:gpu_cache_usage_perc is the share of it the batch's prompts
   * and generated tokens fill. Llama-3-8B keeps 128 KiB a token (32 layers × 8 KV heads × 128 × 2
   * × bf16); ~17 GB are left for it on a 40 GB A100 at vLLM's gpu_memory_utilization 0.9.
   */
  kvCacheTokens: z.number().int().min(1).default(131_072),
  /** Sequences generated at once; more wait in the engine-side queue. */
  maxNumSeqs: z.number().int().min(1).default(16),
  /** Engine-side queue length beyond which the simulator answers 503 capacity. */
  maxQueue: z.number().int().min(0).default(256),
  seed: z.number().int().default(1),
  /** Length of an answer when the request sets no max_tokens. */
  outputTokens: z.strictObject({ min: z.number().int().min(1), max: z.number().int().min(1) }).default({ min: 8, max: 48 }),
  embeddingDimensions: z.number().int().min(1).max(8192).default(768),
  /** How long `slow-first-token` delays the first token. */
  slowFirstTokenMs: z.number().min(0).default(600_000),
  /** Injected fault probabilities per request, e.g. { crash: 0.01 }. */
  faultRates: z.partialRecord(faultSchema, z.number().min(0).max(1)).default({}),
  /** How long loading a LoRA adapter takes (POST /v1/load_lora_adapter). */
  adapterLoadMs: z.number().min(0).max(600_000).default(200),
  /**
   * Adapter sources whose load fails, as a source the engine cannot read does on vLLM: patterns
   * where `*` matches any run of characters, as in key model patterns.
   */
  failAdapters: z.array(z.string().min(1).max(4096)).max(1000).default([]),
});
export type SimSettings = z.infer<typeof simSettingsSchema>;

const queueClass = (maxLength: number, maxWaitMs: number) => z.strictObject({
  maxLength: z.number().int().min(1).max(1_000_000).default(maxLength),
  maxWaitMs: z.number().int().min(1).max(600_000).default(maxWaitMs),
}).default({ maxLength, maxWaitMs });

/**
 * Admission in front of a deployment (precedence 13): at most maxConcurrency requests in service
 * on this replica (each replica has its own share), and a queue by priority class in front.
 */
export const admissionSchema = z.strictObject({
  maxConcurrency: z.union([
    z.number().int().min(1).max(100_000),
    z.strictObject({ adaptive: z.strictObject({ min: z.number().int().min(1).max(100_000), max: z.number().int().min(1).max(100_000) }) }),
  ]),
  /** Slots standard and batch requests leave free for critical ones (0: none reserved). */
  reserveCritical: z.number().int().min(0).max(100_000).default(0),
  /** Waiters of all classes together; default: the sum of the classes' maxLength. */
  maxQueue: z.number().int().min(1).max(1_000_000).optional(),
  queue: z.strictObject({
    critical: queueClass(1000, 30_000),
    standard: queueClass(500, 10_000),
    batch: queueClass(200, 2_000),
  }).default({ critical: { maxLength: 1000, maxWaitMs: 30_000 }, standard: { maxLength: 500, maxWaitMs: 10_000 }, batch: { maxLength: 200, maxWaitMs: 2_000 } }),
}).superRefine((a, ctx) => {
  if (typeof a.maxConcurrency === 'object' && a.maxConcurrency.adaptive.min > a.maxConcurrency.adaptive.max) {
    ctx.addIssue({ code: 'custom', path: ['maxConcurrency', 'adaptive', 'min'], message: 'min must not be above max' });
  }
  const least = typeof a.maxConcurrency === 'number' ? a.maxConcurrency : a.maxConcurrency.adaptive.min;
  if (a.reserveCritical >= least) ctx.addIssue({ code: 'custom', path: ['reserveCritical'], message: `must be below the concurrency limit (${least}), or nothing but critical requests would ever be served` });
});
export type AdmissionConfig = z.infer<typeof admissionSchema>;

/**
 * Poll the engine's own Prometheus endpoint (vLLM's load gauges) and hold requests in admission
 * while its queue (vllm:num_requests_waiting) is past maxWaiting. The path is relative to the
 * engine's origin.
 */
export const engineMetricsSchema = z.strictObject({
  path: z.string().regex(/^\/[^?#\s]*$/, 'path must start with / (relative to the engine\'s origin)').default('/metrics'),
  intervalMs: z.number().int().min(50).max(60_000).default(250),
  maxWaiting: z.number().int().min(0).max(1_000_000).default(8),
});

/** Active health checks of an engine: GET origin + path; anything but a 2xx within timeoutMs fails. */
export const healthCheckSchema = z.strictObject({
  path: z.string().regex(/^\/[^?#\s]*$/, "path must start with / (relative to the engine's origin)").default('/health'),
  intervalMs: z.number().int().min(100).max(600_000).default(5_000),
  timeoutMs: z.number().int().min(10).max(60_000).default(1_000),
  /** Consecutive failed checks that take a deployment out, and passed ones that put it back. */
  unhealthyAfter: z.number().int().min(1).max(100).default(2),
  healthyAfter: z.number().int().min(1).max(100).default(1),
});
export type HealthCheckConfig = z.infer<typeof healthCheckSchema>;

/**
 * `engine: llama`: a GGUF model run in this process on the CPU by node-llama-cpp (an optional
 * package: `npm run install:llama`). One llama context per deployment (and one more per loaded
 * LoRA adapter), each with `parallel` sequences generating at once.
 */
export const llamaSettingsSchema = z.strictObject({
  /** The GGUF model file; relative paths from the gateway's working directory. */
  modelPath: z.string().min(1),
  /**
   * CPU threads llama.cpp uses for each evaluation. Small by default: on a machine whose cores are
   * busy with other work, threads that wait for one another spin and slow every token down.
   */
  threads: z.number().int().min(1).max(256).default(2),
  /** Context window in tokens (prompt plus answer, per sequence); default: the model's, at most 4096. */
  contextSize: z.number().int().min(16).max(1_048_576).optional(),
  /** Requests generated at once (llama.cpp batches them); more wait for a free sequence. */
  parallel: z.number().int().min(1).max(64).default(1),
});
export type LlamaSettings = z.infer<typeof llamaSettingsSchema>;

const deploymentBase = {
  id: z.string().min(1),
  /** Share of the model's traffic relative to its other deployments (weighted two random choices). */
  weight: z.number().gt(0).max(1_000).default(1),
  admission: admissionSchema.optional(),
  /** true: obey (sim) or forward (openai) the x-sluice-fault request header. */
  faultHeader: z.boolean().default(false),
  maintenance: z.boolean().default(false),
  /** LoRA adapters loaded on this deployment at once; past it the least recently used is unloaded. */
  maxAdapters: z.number().int().min(1).max(10_000).default(8),
};

export const deploymentSchema = z.discriminatedUnion('engine', [
  z.strictObject({ ...deploymentBase, engine: z.literal('sim'), sim: simSettingsSchema.default(simSettingsSchema.parse({})) }),
  z.strictObject({
    ...deploymentBase,
    engine: z.literal('openai'),
    baseUrl: z.url({ protocol: /^https?$/ }),
    upstreamModel: z.string().min(1).optional(),
    apiKeyEnv: z.string().min(1).optional(),
    connections: z.number().int().min(1).max(4096).default(128),
    engineMetrics: engineMetricsSchema.optional(),
    healthCheck: healthCheckSchema.optional(),
    /**
     * Non-streaming chat and completions go upstream as streams and the answer is assembled, so a
     * hung engine is found within firstTokenMs; false for an engine that cannot stream (then only
     * totalMs applies).
     */
    jsonFromStream: z.boolean().default(true),
    /**
     * How POST /v1/responses reaches this engine: 'translate' (default) as chat completions,
     * retold as a Response by the gateway; 'native' to the engine's own /v1/responses (vLLM serves
     * one), the gateway still owning storage and previous_response_id (the engine is sent the whole
     * conversation with store: false).
     */
    responses: z.enum(['translate', 'native']).default('translate'),
  }),
  z.strictObject({ ...deploymentBase, engine: z.literal('llama'), llama: llamaSettingsSchema }),
]);
export type DeploymentConfig = z.infer<typeof deploymentSchema>;

/** Largest per-minute limit accepted: anything above is a typo, not a plan. */
export const MAX_PER_MINUTE = 1_000_000_000;
const perMinute = (what: string) => z
  .number({ error: `${what} must be a whole number of ${what === 'rpm' ? 'requests' : 'tokens'} per minute` })
  .int(`${what} must be a whole number`)
  .min(1, `${what} must be at least 1 (omit it for no limit)`)
  .max(MAX_PER_MINUTE, `${what} must be at most ${MAX_PER_MINUTE}`);

/** Requests and tokens (prompt plus completion) per minute; each optional, absent means unlimited. */
export const rateLimitsSchema = z.strictObject({ rpm: perMinute('rpm').optional(), tpm: perMinute('tpm').optional() });
export type RateLimits = z.infer<typeof rateLimitsSchema>;

export const timeoutsSchema = z.strictObject({
  firstTokenMs: z.number().int().min(1).default(30_000),
  totalMs: z.number().int().min(1).default(120_000),
  idleMs: z.number().int().min(1).default(30_000),
});

/**
 * Retries of a failed attempt before the first byte reaches the client (connect failure, reset,
 * 502, capacity 503/429, first-token timeout; an engine 500 once, elsewhere only), with
 * exponential backoff and full jitter, under a budget: retries within any `budgetWindowMs` stay
 * under budgetRatio × the model's requests plus minPerSecond × the window, so an outage never
 * multiplies traffic by more than 1 + budgetRatio (Finagle's RetryBudget, Envoy's retry budget).
 */
export const retriesSchema = z.strictObject({
  /** Attempts per request in all, the first included (fallback models count too). */
  maxAttempts: z.number().int().min(1).max(10).default(3),
  budgetRatio: z.number().min(0).max(1).default(0.2),
  minPerSecond: z.number().min(0).max(10_000).default(5),
  budgetWindowMs: z.number().int().min(1_000).max(600_000).default(10_000),
  backoffBaseMs: z.number().int().min(0).max(60_000).default(25),
  backoffMaxMs: z.number().int().min(0).max(60_000).default(1_000),
});

/**
 * Passive outlier detection per deployment: `consecutiveFailures` failures in a row, or a failure
 * ratio of `failureRatio` over `windowMs` (with at least `minRequests` in it), open the circuit for
 * `cooldownMs`, doubled each time it opens again without a success between, up to maxCooldownMs.
 * After the cooldown one probe request is let through (half-open): success closes the circuit.
 */
export const circuitBreakerSchema = z.strictObject({
  consecutiveFailures: z.number().int().min(1).max(1_000).default(5),
  failureRatio: z.number().gt(0).max(1).default(0.5),
  windowMs: z.number().int().min(100).max(600_000).default(10_000),
  minRequests: z.number().int().min(1).max(100_000).default(20),
  cooldownMs: z.number().int().min(10).max(600_000).default(5_000),
  maxCooldownMs: z.number().int().min(10).max(3_600_000).default(60_000),
});
export type CircuitBreakerConfig = z.infer<typeof circuitBreakerSchema>;

export const pricingSchema = z.strictObject({
  inputPerMTok: z.number().min(0).max(1_000_000).default(0),
  outputPerMTok: z.number().min(0).max(1_000_000).default(0),
});

/** What an adapter model loads on its base model's deployments (see `base`). */
export const adapterSchema = z.strictObject({
  /** What the engine loads: a path or URI on the engine's side (vLLM's lora_path). Never shown to clients. */
  source: z.string().min(1).max(4096),
  /** How long a failed load is remembered: requests within it get 412 without asking the engine again. */
  failedLoadTtlMs: z.number().int().min(0).max(3_600_000).default(10_000),
  /** How long one load may take before it counts as failed. */
  loadTimeoutMs: z.number().int().min(1).max(600_000).default(60_000),
});
export type AdapterConfig = z.infer<typeof adapterSchema>;

export const modelSchema = z.strictObject({
  id: z.string().min(1).max(256),
  /**
   * A LoRA adapter: the model whose deployments serve it (loading `adapter` on demand). It has no
   * deployments of its own, and its base is not itself an adapter.
   */
  base: z.string().min(1).max(256).optional(),
  adapter: adapterSchema.optional(),
  /** USD per million tokens. */
  pricing: pricingSchema.default({ inputPerMTok: 0, outputPerMTok: 0 }),
  /** Only verified accounts may use it (403 verification_required). */
  requiresVerification: z.boolean().default(false),
  /** A private model: visible to this account only; everyone else gets 404 as if it did not exist. */
  owner: z.string().min(1).optional(),
  /** chat models serve /v1/chat/completions and /v1/completions; embedding models /v1/embeddings. */
  kind: z.enum(['chat', 'embedding']).default('chat'),
  contextLength: z.number().int().min(1).default(8192),
  maintenance: z.boolean().default(false),
  ownedBy: z.string().default('sluice'),
  timeouts: timeoutsSchema.default(timeoutsSchema.parse({})),
  /** Per-key limits on this model: each key gets its own allowance. */
  limits: rateLimitsSchema.optional(),
  deployments: z.array(deploymentSchema).default([]),
  /**
   * How a deployment is chosen: `least-loaded` (weighted two random choices) or `prefix-aware`
   * (where the prompt's prefix is probably in the engine's KV cache, within a load bound).
   * Default: prefix-aware for chat models with more than one deployment.
   */
  routing: z.enum(['least-loaded', 'prefix-aware']).optional(),
  /** Models tried, in order, when every deployment of this one failed retryably (not their own fallbacks). */
  fallbacks: z.array(z.string().min(1)).max(8).default([]),
  retries: retriesSchema.prefault({}),
  circuitBreaker: circuitBreakerSchema.prefault({}),
});
export type ModelConfig = z.infer<typeof modelSchema>;

export const serverSchema = z.strictObject({
  host: z.string().default('127.0.0.1'),
  port: z.number().int().min(0).max(65535).default(8080),
  maxBodyBytes: z.number().int().min(1024).default(4 * 1024 * 1024),
  bodyTimeoutMs: z.number().int().min(1).default(30_000),
  /** Node's own limit for the request line and headers. */
  headersTimeoutMs: z.number().int().min(1).default(30_000),
  /** SIGTERM: how long in-flight requests may take to finish. */
  drainMs: z.number().int().min(0).default(30_000),
});

export const idPattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const idSchema = z.string().regex(idPattern, 'expected 1-64 characters: letters, digits, ".", "_", "-"');
export const prioritySchema = z.enum(['critical', 'standard', 'batch']);
const isoDate = z.union([z.date(), z.iso.datetime({ offset: true })]).transform((d) => (d instanceof Date ? d : new Date(d)).toISOString());

export const declaredKeySchema = z.strictObject({
  key: z.string().min(20, 'a declared key needs at least 20 characters').max(256),
  name: z.string().max(128).optional(),
  models: z.array(z.string().min(1).max(256)).optional(),
  priority: prioritySchema.default('standard'),
  expiresAt: isoDate.optional(),
  /** USD per calendar month. */
  spendCap: z.number().min(0).optional(),
  limits: rateLimitsSchema.optional(),
});

export const declaredAccountSchema = z.strictObject({
  id: idSchema,
  status: z.enum(['active', 'suspended']).default('active'),
  verified: z.boolean().default(false),
  plan: z.string().max(64).default('default'),
  /** Prepaid balance in USD, applied when the account is created; absent or null: postpaid. */
  credits: z.number().min(0).nullish(),
  /** USD per calendar month. */
  monthlySpendCap: z.number().min(0).optional(),
  limits: rateLimitsSchema.optional(),
  keys: z.array(declaredKeySchema).default([]),
});
export type DeclaredAccount = z.infer<typeof declaredAccountSchema>;

export const limitStoreSchema = z.strictObject({
  /** `memory` (one replica; the embedded default) or `redis://…` shared by every replica. */
  store: z.union([z.literal('memory'), z.string().regex(/^rediss?:\/\//, 'expected memory or redis://HOST:PORT/DB')]).default('memory'),
  /** Redis down or slow: refuse with 503 (failClosed) or limit per replica in memory (failOpen). */
  onStoreDown: z.enum(['failClosed', 'failOpen']).default('failClosed'),
  /** How long a limit check may wait for Redis before the store counts as down. */
  timeoutMs: z.number().int().min(1).max(10_000).default(10),
  /** Prefix of every Redis key Sluice writes (several gateways' fleets may share one Redis). */
  keyPrefix: z.string().min(1).max(64).default('sluice:rl:'),
});
export type LimitStoreConfig = z.infer<typeof limitStoreSchema>;

/** An adapter model's refusals, each at the field to fix. */
function checkAdapter(models: ModelConfig[], m: ModelConfig, i: number, ctx: z.RefinementCtx): void {
  if (m.base === undefined && m.adapter === undefined) return;
  if (m.base === undefined) {
    ctx.addIssue({ code: 'custom', path: ['models', i, 'base'], message: 'an adapter needs a base: the model whose deployments serve it' });
    return;
  }
  if (m.adapter === undefined) ctx.addIssue({ code: 'custom', path: ['models', i, 'adapter'], message: 'a model with a base is an adapter and needs adapter: { source }' });
  if (m.deployments.length > 0) ctx.addIssue({ code: 'custom', path: ['models', i, 'deployments'], message: `an adapter is served on its base's deployments (${m.base}) and has none of its own` });
  const base = models.find((o) => o.id === m.base);
  if (!base) ctx.addIssue({ code: 'custom', path: ['models', i, 'base'], message: `no model "${m.base}" to serve this adapter` });
  else if (base.base !== undefined || base.adapter !== undefined) ctx.addIssue({ code: 'custom', path: ['models', i, 'base'], message: `"${m.base}" is itself an adapter; the base must be a model with deployments` });
  else if (base.kind !== m.kind) ctx.addIssue({ code: 'custom', path: ['models', i, 'kind'], message: `"${m.base}" is a model of kind ${base.kind}; ${m.id} is of kind ${m.kind}` });
}

export const configSchema = z.strictObject({
  server: serverSchema.default(serverSchema.parse({})),
  /** Bearer token of the admin API (or SLUICE_ADMIN_TOKEN); without one the admin API is off. */
  adminToken: z.string().min(16, 'the admin token needs at least 16 characters').optional(),
  auth: z.strictObject({
    /** How stale a cached key or account may be: a revoked key stops working within this. */
    cacheTtlMs: z.number().int().min(0).max(300_000).default(5_000),
  }).default({ cacheTtlMs: 5_000 }),
  accounts: z.array(declaredAccountSchema).default([]),
  ledger: z.strictObject({
    /** The ledger's write-ahead journal; default: beside the SQLite file, or ./sluice-journal. */
    journalDir: z.string().min(1).optional(),
  }).default({}),
  limits: limitStoreSchema.default(limitStoreSchema.parse({})),
  responses: z.strictObject({
    /**
     * How long a stored response (the Responses API's `store: true`) and its items are kept: after
     * this they are invisible at once and deleted by a sweeper within minutes.
     */
    retentionDays: z.number().int().min(1).max(3650).default(30),
  }).prefault({}),
  requestLog: z.strictObject({
    /**
     * How long the request log keeps what was answered to requests that failed, were refused or
     * were retried (the request inspector, GET /admin/requests/{id}); a sweeper deletes older rows.
     */
    retentionDays: z.number().int().min(1).max(3650).default(7),
    /** Rows waiting for the store at most; beyond (a flood, a slow store) new ones are dropped and counted. */
    queueLimit: z.number().int().min(100).max(1_000_000).default(10_000),
    /**
     * Rows kept per second at most (per replica) of requests no API key was accepted for: bad or
     * missing keys, unknown routes, admin calls. Anyone on the network can send those; beyond, they
     * are dropped and counted. Refusals of known keys are not capped.
     */
    unauthenticatedPerSecond: z.number().int().min(1).max(100_000).default(20),
  }).prefault({}),
  store: z.string().regex(/^(sqlite:|postgres(ql)?:\/\/)/, 'expected sqlite://PATH or postgres://…').default('sqlite://./sluice.db'),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  models: z.array(modelSchema).default([]),
}).superRefine((cfg, ctx) => {
  const seen = new Set<string>();
  cfg.models.forEach((m, i) => {
    if (seen.has(m.id)) ctx.addIssue({ code: 'custom', path: ['models', i, 'id'], message: `duplicate model id "${m.id}"` });
    seen.add(m.id);
    m.fallbacks.forEach((f, j) => {
      const target = cfg.models.find((o) => o.id === f);
      if (!target) ctx.addIssue({ code: 'custom', path: ['models', i, 'fallbacks', j], message: `no model "${f}" to fall back to` });
      else if (f === m.id) ctx.addIssue({ code: 'custom', path: ['models', i, 'fallbacks', j], message: 'a model cannot fall back to itself' });
      else if (target.kind !== m.kind) ctx.addIssue({ code: 'custom', path: ['models', i, 'fallbacks', j], message: `"${f}" is a model of kind ${target.kind}; ${m.id} is of kind ${m.kind}` });
    });
    if (m.circuitBreaker.cooldownMs > m.circuitBreaker.maxCooldownMs) ctx.addIssue({ code: 'custom', path: ['models', i, 'circuitBreaker', 'cooldownMs'], message: 'cooldownMs must not be above maxCooldownMs' });
    if (m.retries.backoffBaseMs > m.retries.backoffMaxMs) ctx.addIssue({ code: 'custom', path: ['models', i, 'retries', 'backoffBaseMs'], message: 'backoffBaseMs must not be above backoffMaxMs' });
    checkAdapter(cfg.models, m, i, ctx);
    const deps = new Set<string>();
    m.deployments.forEach((d, j) => {
      if (deps.has(d.id)) ctx.addIssue({ code: 'custom', path: ['models', i, 'deployments', j, 'id'], message: `duplicate deployment id "${d.id}"` });
      deps.add(d.id);
    });
  });
});

export type SluiceConfig = z.infer<typeof configSchema>;
