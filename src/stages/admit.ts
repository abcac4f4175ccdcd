// Precedence 13: admission to the chosen deployment, when it configures one. The request's
// priority class is its key's, or lower when the x-sluice-priority header asks (never higher).
import type { Admitted } from '../admission/deployment-admission.js';
import { PRIORITIES } from '../admission/admission-queue.js';
import { GatewayError } from '../errors/gateway-error.js';
import type { RequestContext } from '../server/context.js';
import type { Priority } from '../store/keys-repo.js';

export const PRIORITY_HEADER = 'x-sluice-priority';

/** Precedence 4: an x-sluice-priority header that names no class is a 400 naming the header. */
export function requestedPriority(ctx: RequestContext): Priority | undefined {
  const raw = ctx.req.headers[PRIORITY_HEADER];
  if (raw === undefined) return undefined;
  const value = (Array.isArray(raw) ? raw[0] : raw)?.trim().toLowerCase();
  if (!PRIORITIES.includes(value as Priority)) {
    throw new GatewayError('invalid_parameter', { param: PRIORITY_HEADER, message: `The ${PRIORITY_HEADER} header must be one of critical, standard, batch; got '${String(value).slice(0, 32)}'.` });
  }
  return value as Priority;
}

/** The key's class, lowered (never raised) by the header. */
export function priorityOf(ctx: RequestContext): Priority {
  const own = ctx.principal!.key.priority;
  const asked = ctx.requestedPriority;
  return asked !== undefined && PRIORITIES.indexOf(asked) > PRIORITIES.indexOf(own) ? asked : own;
}

/** Failures that mean the engine was past its capacity: an adaptive limit shrinks on them. */
const OVERLOAD_CODES = new Set(['engine_overloaded', 'first_token_timeout', 'generation_timeout', 'stream_timeout']);

export function overloadedBy(err: unknown): boolean {
  return err instanceof GatewayError && OVERLOAD_CODES.has(err.code);
}

/** Undefined when the deployment admits everything; no promise when a slot was free. */
export function admit(ctx: RequestContext): Admitted | Promise<Admitted> | undefined {
  const admission = ctx.deployment!.admission;
  if (!admission) return undefined;
  return admission.admit(priorityOf(ctx), ctx.cancel);
}
