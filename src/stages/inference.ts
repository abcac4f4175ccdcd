// The request path of the inference endpoints: the stages in the contract's precedence order.
import type { Endpoint } from '../engines/types.js';
import type { RequestContext } from '../server/context.js';
import { readJsonBody } from '../server/body.js';
import type { GatewayDeps } from './deps.js';
import { validateRequest } from './validate-request.js';
import { resolveModel } from './resolve-model.js';
import { checkContextLength } from './check-context-length.js';
import { checkAccount, checkPermission } from './access.js';
import { checkRateLimits, settleRateLimits } from './check-rate-limits.js';
import { route } from '../routing/route.js';
import { ClientClosed } from '../server/context.js';
import { toGatewayError } from '../errors/gateway-error.js';

export function inferenceRoute(endpoint: Endpoint, deps: GatewayDeps) {
  const limits = { maxBytes: deps.config.server.maxBodyBytes, timeoutMs: deps.config.server.bodyTimeoutMs };
  const serve = serveInference(deps);
  return async function inference(ctx: RequestContext): Promise<void> {
    ctx.principal = await deps.auth.authenticate(ctx.req.headers.authorization); // 2: 401
    const raw = await readJsonBody(ctx.req, limits, endpoint); // 3: 413, 408; 4: 400 invalid_json
    validateRequest(ctx, endpoint, raw); // 4: 400 invalid_parameter
    await serve(ctx);
  };
}

/**
 * Precedence 5 onwards, for a request authenticated and validated (ctx.body, ctx.endpoint set):
 * the chat, completions and embeddings endpoints, and the Responses API once translated to chat.
 */
export function serveInference(deps: GatewayDeps) {
  /** The request's end, however it ends: limits and credits settle to what was served. */
  const settle = (ctx: RequestContext, status: number, code: string | undefined): Promise<void> => {
    settleRateLimits(ctx, deps.limiter, status);
    return deps.billing.settle(ctx, status, code);
  };
  return async function serve(ctx: RequestContext): Promise<void> {
    checkAccount(ctx); // 5: 412 account_suspended
    resolveModel(ctx, deps.registry); // 6: 404, private models included
    checkPermission(ctx); // 7: 403
    const admitting = deps.billing.admit(ctx); // 8: 402
    if (admitting) await admitting; // only when the database is asked
    try {
      const counting = checkContextLength(ctx); // 9: 400 context_length_exceeded
      if (counting) await counting; // only when the byte bound cannot prove the prompt fits
      const limiting = checkRateLimits(ctx, deps.limiter, deps.metrics); // 10: 429, 503 limit store down
      if (limiting) await limiting; // only with a shared store, or a prompt to count off the loop
      await route(ctx, deps.registry, (status, code) => settle(ctx, status, code), deps.routeEvents); // 12-14, with retries
    } catch (err) {
      const e = err instanceof ClientClosed ? undefined : toGatewayError(err);
      await settle(ctx, e?.entry.status ?? 499, e?.code ?? 'client_closed');
      throw err;
    }
  };
}
