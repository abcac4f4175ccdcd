// Who may use which model: precedence 5 (suspended account, 412), 6 (a private model of another
// account is indistinguishable from a missing one, 404) and 7 (key scope and verification, 403).
import type { ModelConfig } from '../config/schema.js';
import { GatewayError } from '../errors/gateway-error.js';
import type { Principal } from '../keys/authenticate.js';
import type { RequestContext } from '../server/context.js';

const patternCache = new Map<string, RegExp>();

/** `llama-*` style patterns: `*` matches any run of characters, everything else is literal. */
export function modelPatternMatches(pattern: string, model: string): boolean {
  let re = patternCache.get(pattern);
  if (!re) {
    re = new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
    if (patternCache.size < 10_000) patternCache.set(pattern, re);
  }
  return re.test(model);
}

export function notFound(id: string, param: string | null = 'model'): GatewayError {
  return new GatewayError('model_not_found', { param, message: `The model '${id.slice(0, 256)}' does not exist or you do not have access to it.` });
}

export function isVisible(model: ModelConfig, p: Principal): boolean {
  return model.owner === undefined || model.owner === p.account.id;
}

export function keyAllows(model: ModelConfig, p: Principal): boolean {
  return p.key.models === null || p.key.models.some((pattern) => modelPatternMatches(pattern, model.id));
}

/** What GET /v1/models lists: visible, in the key's scope, and not gated away from this account. */
export function mayUse(model: ModelConfig, p: Principal): boolean {
  return isVisible(model, p) && keyAllows(model, p) && (!model.requiresVerification || p.account.verified);
}

export function checkAccount(ctx: RequestContext): void {
  if (ctx.principal!.account.status === 'suspended') throw new GatewayError('account_suspended');
}

export function checkPermission(ctx: RequestContext): void {
  const model = ctx.model!.config;
  const p = ctx.principal!;
  if (!keyAllows(model, p)) throw new GatewayError('model_access_denied', { param: 'model', message: `This API key is not allowed to use the model '${model.id}'.` });
  if (model.requiresVerification && !p.account.verified) {
    throw new GatewayError('verification_required', { param: 'model', message: `The model '${model.id}' is available to verified accounts only.` });
  }
}
