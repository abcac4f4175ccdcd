// Precedences 12-14 with retries and fallbacks: choose a deployment (balancer.ts), wait for
// admission to it (admit.ts), run the attempt (execute.ts); when it fails before the first byte
// reached the client for a cause another try can fix (attempt-outcome.ts), try again: on a
// deployment not tried yet when there is one, then on the model's fallback models in order, after
// an exponential backoff with full jitter (Brooker, "Exponential Backoff And Jitter", AWS 2015),
// under the model's retry budget and never past the request's deadline (totalMs from the first
// attempt). The client gets the answer of the attempt that succeeded, or the most informative
// error; x-sluice-attempts and x-sluice-deployment say what happened.
import { GatewayError, toGatewayError } from '../errors/gateway-error.js';
import { Cancellation } from '../server/cancellation.js';
import { ClientClosed, type RequestContext } from '../server/context.js';
import { admit, overloadedBy } from '../stages/admit.js';
import { mayUse } from '../stages/access.js';
import type { Finish } from '../stages/execute.js';
import { execute } from '../stages/execute.js';
import { healthVerdict, moreInformative, retryVerdict, type RetryVerdict } from './attempt-outcome.js';
import { chooseDeployment, hasUntried } from './balancer.js';
import { prefixBlocks } from './prefix-blocks.js';
import { adapterHasUntried, placeAdapter, type AdapterPlacement } from './adapter-placement.js';
import type { AdapterEntry } from './deployment-adapters.js';
import type { Deployment, ModelRegistry, RegisteredModel } from './registry.js';

/** How long a deployment that refused a connection is passed over while others can serve. */
const SUSPECT_MS = 1_000;
/** Less time than this left before the deadline: no further attempt is started. */
const MIN_ATTEMPT_MS = 50;

export const ATTEMPTS_HEADER = 'x-sluice-attempts';
export const DEPLOYMENT_HEADER = 'x-sluice-deployment';

export interface RouteEvents {
  retried?(model: string, reason: string): void;
  budgetExhausted?(model: string): void;
}

/** The fallback models this caller may use, in order: visible, in the key's scope, as large a context. */
function fallbacksOf(ctx: RequestContext, registry: ModelRegistry): RegisteredModel[] {
  const primary = ctx.model!.config;
  const out: RegisteredModel[] = [];
  for (const id of primary.fallbacks) {
    const m = registry.get(id);
    // A fallback never refuses what the model asked for accepted: a smaller context could.
    if (m && mayUse(m.config, ctx.principal!) && m.config.contextLength >= primary.contextLength) out.push(m);
  }
  return out;
}

function backoffMs(ctx: RequestContext, retry: number): number {
  const { backoffBaseMs, backoffMaxMs } = ctx.model!.config.retries;
  return Math.random() * Math.min(backoffMaxMs, backoffBaseMs * 2 ** retry);
}

/** Waits `ms` unless the client leaves first (then throws ClientClosed or the abort's reason). */
function pause(ctx: RequestContext, ms: number): Promise<void> | undefined {
  if (ms < 1) return undefined;
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      undo();
      resolve();
    }, ms);
    const undo = ctx.cancel.onAbort((reason) => {
      clearTimeout(timer);
      reject(reason instanceof Error ? reason : new ClientClosed());
    });
  });
}

/** Records an attempt's outcome on its deployment's health. */
function judge(d: Deployment, err: unknown, probe: boolean): void {
  switch (healthVerdict(err)) {
    case 'success':
      return d.circuit.success(probe);
    case 'failure':
      // A dead engine fails at once and so looks idle to the balancer: avoid it for a moment while
      // another can serve, before its circuit opens or its health checks take it out.
      if ((err as GatewayError).code === 'upstream_unreachable') d.suspectUntil = performance.now() + SUSPECT_MS;
      return d.circuit.failure(probe);
    case 'busy': {
      const advice = (err as GatewayError).retryAfterMs;
      if (advice !== undefined && advice > 0) d.busyUntil = performance.now() + Math.min(advice, 60_000);
      return d.circuit.abandon(probe);
    }
    default:
      return d.circuit.abandon(probe);
  }
}

/** One attempt on `d`: admission, the engine call, and the deployment's books kept however it ends. */
async function attempt(ctx: RequestContext, d: Deployment, finish: Finish, deadline: number): Promise<void> {
  const slot = admit(ctx); // 13: 503 server_overloaded, queue_timeout
  const done = slot instanceof Promise ? await slot : slot;
  const admittedAt = performance.now() - ctx.startedAt;
  const probe = d.circuit.take();
  d.outstanding++;
  const cancel = new Cancellation();
  const unlink = ctx.cancel.onAbort((reason) => cancel.abort(reason));
  let failure: unknown;
  try {
    await execute(ctx, finish, { cancel, deadline }); // 14: the engine
  } catch (err) {
    failure = err;
    throw err;
  } finally {
    unlink();
    d.outstanding--;
    // The slot goes back however the attempt ended; an adaptive limit learns how the engine fared.
    done?.(ctx.firstByteMs === undefined ? undefined : ctx.firstByteMs - admittedAt, overloadedBy(failure ?? ctx.midStreamError));
    judge(d, failure ?? ctx.midStreamError, probe);
  }
}

/**
 * An adapter model's deployment, with the adapter loaded there (precedence 11), or the error that
 * says why there is none, to weigh with the attempts' errors. A load failing everywhere is the
 * client's answer on a first attempt; on a retry the failure that caused the retry tells more.
 */
async function placeOrExplain(model: RegisteredModel, tried: ReadonlySet<Deployment>, ctx: RequestContext, first: boolean): Promise<AdapterPlacement | GatewayError> {
  try {
    return await placeAdapter(model, tried, ctx.cancel);
  } catch (err) {
    if (!(err instanceof GatewayError) || (first && err.code === 'adapter_load_failed')) throw err;
    return err;
  }
}

export async function route(ctx: RequestContext, registry: ModelRegistry, finish: Finish, events: RouteEvents = {}): Promise<void> {
  const primary = ctx.model!;
  const { maxAttempts } = primary.config.retries;
  const deadline = performance.now() + primary.config.timeouts.totalMs;
  primary.retryBudget.request();
  let model = primary;
  let fallbacks: RegisteredModel[] | undefined;
  const tried = new Set<Deployment>();
  let attempts = 0;
  let best: GatewayError | undefined;
  let verdict: RetryVerdict = 'any';

  /** A deployment of `model` for the next attempt, or undefined (with `best` updated) if none. */
  const tryChoose = (): Deployment | undefined => {
    try {
      // The first attempt on a model that routes by prefix goes where the prompt is probably cached;
      // a retry goes where it has not been tried.
      const prefix = model.prefixIndex && tried.size === 0 && model.deployments.length > 1 ? (ctx.prefixBlocks ??= prefixBlocks(ctx.body!, ctx.endpoint!)) : undefined;
      return chooseDeployment(model, tried, performance.now(), Math.random, prefix);
    } catch (err) {
      // Nothing to choose in this model (maintenance, circuits open, at capacity): its fallbacks may serve.
      if (!(err instanceof GatewayError)) throw err;
      best = moreInformative(best, err);
      return undefined;
    }
  };

  for (;;) {
    let d: Deployment | undefined;
    /** An adapter model's attempt: the load of the adapter it uses on `d`. */
    let entry: AdapterEntry | undefined;
    if (attempts === 0 || (model.adapter ? adapterHasUntried(model, tried) : hasUntried(model, tried))
      // The same deployment again only when nothing else is left, and never after an engine 500.
      || ((fallbacks ??= fallbacksOf(ctx, registry)).length === 0 && verdict === 'any')) {
      // Adapter models take their own branch: other requests pay one property read.
      if (!model.adapter) d = tryChoose();
      else {
        const placed = await placeOrExplain(model, tried, ctx, attempts === 0);
        if (placed instanceof GatewayError) best = moreInformative(best, placed);
        else ({ deployment: d, entry } = placed);
      }
    }
    if (d === undefined) {
      const next = (fallbacks ??= fallbacksOf(ctx, registry)).shift();
      if (!next) throw best!;
      model = next;
      ctx.model = next;
      // The request goes to the fallback as the client sent it, but for the model's name.
      ctx.body = { ...ctx.body, model: next.config.id };
      continue;
    }

    // A retry never goes to an engine that asked, with its capacity advice, not to be sent more.
    if (attempts > 0 && d.busyUntil > performance.now()) {
      if (entry) d.adapters!.release(entry);
      throw best!;
    }
    attempts++;
    tried.add(d);
    ctx.deployment = d;
    ctx.attempts = attempts;
    ctx.res.setHeader(DEPLOYMENT_HEADER, d.config.id);
    ctx.res.setHeader(ATTEMPTS_HEADER, String(attempts));
    try {
      await attempt(ctx, d, finish, deadline);
      // Served there, its engine holds these blocks now: the conversation's later turns follow.
      // (Recorded for the deployment that served, not the first one chosen: after a failover the
      // conversation's cache is where the retry went.)
      const prefix = ctx.prefixBlocks;
      if (prefix && prefix.blocks.length > 0 && model.prefixIndex) model.prefixIndex.record(prefix.blocks, d.config.id);
      return;
    } catch (err) {
      // Only before the first byte: after it the attempt has answered the client (or it left).
      if (ctx.res.headersSent || err instanceof ClientClosed || ctx.cancel.aborted) throw err;
      const gerr = toGatewayError(err);
      best = moreInformative(best, gerr);
      verdict = retryVerdict(gerr);
      // The engine no longer has the adapter (restarted, or unloaded it itself): load it again.
      if (entry && gerr.code === 'model_not_deployed') {
        d.adapters!.forget(entry);
        verdict = 'any';
      }
      if (verdict === 'no') throw gerr;
      if (verdict === 'elsewhere' && !(model.adapter ? adapterHasUntried(model, tried) : hasUntried(model, tried)) && (fallbacks ??= fallbacksOf(ctx, registry)).length === 0) throw best;
      if (attempts >= maxAttempts) throw best;
      const wait = backoffMs(ctx, attempts - 1);
      // Not past the deadline, nor so close to it that the attempt could do nothing.
      if (performance.now() + wait + MIN_ATTEMPT_MS >= deadline) throw best;
      if (!primary.retryBudget.tryRetry()) {
        events.budgetExhausted?.(primary.config.id);
        throw best;
      }
      events.retried?.(primary.config.id, gerr.code);
      const waiting = pause(ctx, wait);
      if (waiting) await waiting;
    } finally {
      if (entry) d.adapters!.release(entry);
    }
  }
}
