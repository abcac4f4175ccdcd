// Assembles the gateway: routes, the per-request context, the one place a thrown error becomes a
// response, the per-request log line, and graceful shutdown.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SluiceConfig } from '../config/schema.js';
import { GatewayError, toGatewayError } from '../errors/gateway-error.js';
import { sendError } from '../errors/render.js';
import { ConnectionErrors } from './connection-errors.js';
import { Billing } from '../billing/billing.js';
import { adminRoutes } from '../admin/routes.js';
import { createAdminOperations } from '../admin/operations.js';
import { createModelOperations } from '../admin/model-operations.js';
import { createRequestInspector } from '../admin/request-inspector.js';
import { journalDirFor } from '../billing/journal-dir.js';
import { createAuthenticator } from '../keys/authenticate.js';
import { createLogger, createRequestLogger, type Logger } from '../observability/logger.js';
import { createMetrics } from '../observability/metrics.js';
import { openLimiter } from '../limits/limiter.js';
import { ModelRegistry, type EngineFactory } from '../routing/registry.js';
import { engineLoadLog } from '../admission/engine-load-log.js';
import { adapterLog, circuitLog, healthCheckLog, llamaEngineLog, routeMetrics } from '../routing/routing-log.js';
import type { GatewayDeps } from '../stages/deps.js';
import { inferenceRoute } from '../stages/inference.js';
import { responsesRoutes } from '../responses/routes.js';
import { opsRoutes } from '../ops/routes.js';
import { TrafficWindow } from '../ops/traffic-window.js';
import { getModelRoute, listModelsRoute } from '../stages/models.js';
import type { Store } from '../store/store.js';
import { ResponsesSweeper, type SweeperOptions } from '../store/responses-sweeper.js';
import { RetentionSweeper } from '../store/retention-sweeper.js';
import { REQUEST_LOG_DELETE_BATCH } from '../store/request-log-repo.js';
import { RequestRecorder } from '../observability/request-recorder.js';
import { requestLogRow, worthLogging } from './request-log-row.js';
import { ClientClosed, type RequestContext } from './context.js';
import { Cancellation } from './cancellation.js';
import { newRequestId } from './request-id.js';
import { sendJson } from './respond.js';
import { createRouter, type Route } from './router.js';

export interface GatewayOptions {
  config: SluiceConfig;
  store: Store;
  logger?: Logger;
  env?: NodeJS.ProcessEnv;
  /** Builds each deployment's engine; tests substitute a broken one. */
  engineFor?: EngineFactory;
  /** The stored responses' retention sweeper (tests shorten its timers). */
  responsesSweeper?: SweeperOptions;
  /** The request log's retention sweeper (tests shorten its timers). */
  requestLogSweeper?: SweeperOptions;
}

export interface Gateway {
  server: Server;
  url: string;
  deps: GatewayDeps;
  /** Stops accepting, lets in-flight requests finish within the drain deadline, closes everything. */
  close(): Promise<void>;
}

/** How long the request inspector waits for this replica's held rows to be written before reading. */
const INSPECT_FLUSH_MS = 2_000;

/** Resolves when `work` does or after `ms`, whichever is first; `work` goes on (a failure before then is thrown). */
async function atMost(ms: number, work: Promise<unknown>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([work, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

export function buildRoutes(deps: GatewayDeps, adminToken: string | undefined): Route[] {
  const limits = { maxBytes: deps.config.server.maxBodyBytes, timeoutMs: deps.config.server.bodyTimeoutMs };
  // Admin changes to keys and accounts take effect at once on this replica (others: within the TTL).
  const admin = createAdminOperations(deps.store, { onChange: () => deps.auth.invalidate(), beforeRead: () => deps.billing.flush() });
  // A slow or unreachable store must not hold the inspector: past the bound it reads what is there.
  const inspector = createRequestInspector(deps.store, () => atMost(INSPECT_FLUSH_MS, Promise.all([deps.billing.flushLedger(), deps.requestLog.flush()])));
  return [
    ...adminRoutes(admin, createModelOperations(deps.registry, deps.logger), inspector, adminToken, limits),
    ...opsRoutes({ registry: deps.registry, traffic: deps.traffic, metrics: deps.metrics, store: deps.store }, adminToken),
    { method: 'POST', path: '/v1/chat/completions', handler: inferenceRoute('chat', deps) },
    { method: 'POST', path: '/v1/completions', handler: inferenceRoute('completions', deps) },
    { method: 'POST', path: '/v1/embeddings', handler: inferenceRoute('embeddings', deps) },
    ...responsesRoutes(deps),
    { method: 'GET', path: '/v1/models', handler: listModelsRoute(deps) },
    { method: 'GET', path: '/v1/models/*', handler: getModelRoute(deps) },
    { method: 'GET', path: '/health', handler: async (ctx) => sendJson(ctx.res, { status: 'ok' }, ctx.id) },
    {
      method: 'GET',
      path: '/metrics',
      handler: async (ctx) => {
        const text = await deps.metrics.registry.metrics();
        ctx.res.writeHead(200, { 'content-type': deps.metrics.registry.contentType, 'x-request-id': ctx.id }).end(text);
      },
    },
    {
      method: 'GET',
      path: '/ready',
      handler: async (ctx) => {
        try {
          await deps.store.ping();
        } catch (cause) {
          deps.metrics.storeErrors.inc({ op: 'ready' });
          throw new GatewayError('dependency_unavailable', { message: 'The store is unavailable.', cause });
        }
        sendJson(ctx.res, { status: 'ready' }, ctx.id);
      },
    },
  ];
}

export async function startGateway(opts: GatewayOptions): Promise<Gateway> {
  const { config, store } = opts;
  const logger = opts.logger ?? createLogger(config.logLevel);
  const journalDir = journalDirFor(config);
  const recovered = await Billing.recover(store, journalDir);
  if (recovered.rows > 0 || recovered.leases > 0) logger.warn(recovered, 'replayed the ledger journal and gave back the credit leases of a stopped gateway');
  const metrics = createMetrics();
  // First: a shared limit store that must answer (failClosed) and does not fails the start here.
  const limiter = await openLimiter(config.limits, logger, metrics);
  const deps: GatewayDeps = {
    config,
    store,
    logger,
    auth: createAuthenticator(store, { ttlMs: config.auth.cacheTtlMs }),
    billing: new Billing(store, logger, journalDir, (op) => metrics.storeErrors.inc({ op })),
    registry: new ModelRegistry(config.models, {
      ...(opts.engineFor && { engineFor: opts.engineFor }),
      admissionEvents: (deployment) => ({
        admitted: (priority, waitedMs) => metrics.admissionWait.observe({ deployment, priority }, waitedMs / 1000),
        shed: (priority, code) => metrics.admissionShed.inc({ deployment, priority, code }),
      }),
      engineLoadEvents: (deployment) => engineLoadLog(deployment, logger, metrics),
      circuitEvents: (model, deployment) => circuitLog(model, deployment, logger, metrics),
      healthCheckEvents: (model, deployment) => healthCheckLog(model, deployment, logger),
      adapterEvents: (model, deployment) => adapterLog(model, deployment, logger, metrics),
      llamaEvents: (deployment) => llamaEngineLog(deployment, logger),
    }),
    routeEvents: routeMetrics(metrics),
    metrics,
    traffic: new TrafficWindow(),
    limiter,
    requestLog: new RequestRecorder(store.requestLogWriter, { dropped: (reason, rows) => metrics.requestLogDropped.inc({ reason }, rows) }, logger, { queueLimit: config.requestLog.queueLimit, unauthenticatedPerSecond: config.requestLog.unauthenticatedPerSecond }),
  };
  metrics.admissions.list = () => deps.registry.list().flatMap((m) => m.deployments.flatMap((d) => (d.admission ? [{ deployment: d.config.id, queue: d.admission.queue, limit: d.admission.limit }] : [])));
  const CIRCUIT = { closed: 0, 'half-open': 1, open: 2 } as const;
  metrics.deployments.list = () => deps.registry.list().flatMap((m) => m.deployments.map((d) => ({ model: m.config.id, deployment: d.config.id, outstanding: d.outstanding, circuit: CIRCUIT[d.circuit.current], healthy: d.activeHealthy })));
  metrics.adapterDeployments.list = () => deps.registry.list().flatMap((m) => m.deployments.flatMap((d) => (d.adapters ? [{ model: m.config.id, deployment: d.config.id, loaded: d.adapters.loadedCount() }] : [])));
  metrics.store.ping = () => store.ping();
  metrics.ledger.backlog = () => deps.billing.backlog();
  metrics.engineLoads.list = () => deps.registry.list().flatMap((m) => m.deployments.flatMap((d) => (d.engineLoad ? [{ deployment: d.config.id, load: d.engineLoad }] : [])));
  const requestLog = createRequestLogger(logger);
  const routes = buildRoutes(deps, config.adminToken ?? opts.env?.SLUICE_ADMIN_TOKEN ?? process.env.SLUICE_ADMIN_TOKEN);
  const router = createRouter(routes);
  // Requests being served: the in-flight gauge reads it, and the drain waits for it to reach 0.
  const inFlight = metrics.active;
  const connectionErrors = new ConnectionErrors([...new Set(routes.map((r) => r.method))].join(', '));
  let onIdle: (() => void) | undefined;

  function record(ctx: RequestContext, status: number, error: GatewayError | undefined): void {
    if (worthLogging(ctx, status)) deps.requestLog.record(requestLogRow(ctx, status, error));
    const err = ctx.midStreamError;
    const model = ctx.model?.config.id ?? '';
    const endpoint = ctx.api ?? ctx.endpoint ?? '';
    const seconds = (performance.now() - ctx.startedAt) / 1000;
    const code = ctx.errorCode ?? err?.code ?? '';
    metrics.countRequest(endpoint, model, ctx.deployment?.config.id ?? '', status, code);
    // A stream's first byte carries its first token; a whole answer's first token is the engine's word.
    const firstMs = ctx.firstByteMs ?? (ctx.endpoint === 'embeddings' ? undefined : ctx.firstTokenMs);
    if (ctx.endpoint) metrics.observeInference(ctx.endpoint, model, code, seconds, firstMs === undefined ? undefined : firstMs / 1000, ctx.usage);
    // The API's traffic only: the pages' own polls, scrapes and health probes are not traffic.
    if (ctx.req.url?.startsWith('/v1/')) deps.traffic.record(model, status, code, firstMs);
    requestLog.info({
      request_id: ctx.id,
      method: ctx.req.method,
      path: ctx.req.url,
      status,
      code: ctx.errorCode ?? err?.code,
      model: ctx.model?.config.id,
      deployment: ctx.deployment?.config.id,
      attempts: ctx.attempts,
      key_id: ctx.principal?.key.id,
      account: ctx.principal?.account.id,
      stream: ctx.stream,
      ms: Math.round(seconds * 100_000) / 100,
      first_byte_ms: ctx.firstByteMs === undefined ? undefined : Math.round(ctx.firstByteMs * 100) / 100,
      prompt_tokens: ctx.usage?.prompt_tokens,
      completion_tokens: ctx.usage?.completion_tokens,
    }, 'request');
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const ctx: RequestContext = { id: newRequestId(), req, res, startedAt: performance.now(), startedAtMs: Date.now(), cancel: new Cancellation() };
    inFlight.count++;
    connectionErrors.responseStarted(req);
    res.once('close', () => {
      if (!res.writableFinished) ctx.cancel.abort(new ClientClosed());
      connectionErrors.responseEnded(req.socket);
    });
    let status = 200;
    let error: GatewayError | undefined;
    try {
      const { handler, params } = router.match(req.method ?? 'GET', req.url ?? '/');
      await handler(ctx, params);
      status = res.statusCode;
    } catch (thrown) {
      if (thrown instanceof ClientClosed || res.destroyed) {
        status = 499; // nginx's "client closed request": nobody is left to answer
      } else {
        const err = toGatewayError(thrown);
        error = err;
        ctx.errorCode = err.code;
        status = err.entry.status;
        if (err.code === 'internal_error') logger.error({ request_id: ctx.id, err: thrown }, 'unhandled error');
        else if (err.upstreamBody !== undefined || err.cause !== undefined) logger.warn({ request_id: ctx.id, code: err.code, upstream_body: err.upstreamBody, cause: String(err.cause ?? '') }, 'engine failure');
        sendError(res, err, ctx.id);
      }
    } finally {
      record(ctx, status, error);
      if (--inFlight.count === 0) onIdle?.();
    }
  }

  const server = createServer({ requestTimeout: 0, headersTimeout: config.server.headersTimeoutMs, keepAliveTimeout: 65_000 }, (req, res) => {
    void handle(req, res);
  });
  server.on('clientError', connectionErrors.onClientError);
  server.on('connect', connectionErrors.onConnect);

  try {
    // Engines that load a model in-process do it now: a bad model path fails the start, not the first request.
    await Promise.all(deps.registry.list().flatMap((m) => m.deployments.map((d) => d.engine.start?.())));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.server.port, config.server.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    // A Redis client left open would keep reconnecting, and the process alive, for nothing.
    await limiter.close();
    await deps.registry.close();
    throw err;
  }
  // Deletes stored responses past their retention (reads already hide them).
  const sweeper = new ResponsesSweeper(store.responses, logger, opts.responsesSweeper);
  sweeper.start();
  // Deletes request-log rows older than their retention.
  const retentionMs = config.requestLog.retentionDays * 86_400_000;
  const requestLogSweeper = new RetentionSweeper('request log', {
    deleteExpired: (now, limit) => store.requestLogWriter.deleteRequestsBefore(new Date(Date.parse(now) - retentionMs).toISOString(), limit),
  }, logger, { batch: REQUEST_LOG_DELETE_BATCH, ...opts.requestLogSweeper });
  requestLogSweeper.start();
  const { port } = server.address() as AddressInfo;
  const host = config.server.host.includes(':') ? `[${config.server.host}]` : config.server.host;

  let closing: Promise<void> | undefined;
  return {
    server,
    url: `http://${host}:${port}`,
    deps,
    close() {
      closing ??= (async () => {
        const sweeperStopped = Promise.all([sweeper.stop(), requestLogSweeper.stop()]);
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        if (inFlight.count > 0) {
          await Promise.race([
            new Promise<void>((resolve) => (onIdle = resolve)),
            new Promise<void>((resolve) => setTimeout(resolve, config.server.drainMs).unref()),
          ]);
        }
        server.closeAllConnections();
        await closed;
        await sweeperStopped;
        await deps.registry.close();
        await deps.billing.close();
        await deps.requestLog.close();
        await deps.limiter.close();
        logger.flush();
      })();
      return closing;
    },
  };
}
