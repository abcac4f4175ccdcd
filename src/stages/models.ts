// GET /v1/models and GET /v1/models/{id}.
import { mayUse, notFound } from './access.js';
import type { RegisteredModel } from '../routing/registry.js';
import type { RequestContext } from '../server/context.js';
import { sendJson } from '../server/respond.js';
import type { GatewayDeps } from './deps.js';

const CREATED = Math.floor(Date.now() / 1000);

function describe(m: RegisteredModel) {
  return { id: m.config.id, object: 'model', created: CREATED, owned_by: m.config.ownedBy };
}

export function listModelsRoute(deps: GatewayDeps) {
  return async function listModels(ctx: RequestContext): Promise<void> {
    ctx.principal = await deps.auth.authenticate(ctx.req.headers.authorization);
    const p = ctx.principal;
    sendJson(ctx.res, { object: 'list', data: deps.registry.list().filter((m) => mayUse(m.config, p)).map(describe) }, ctx.id);
  };
}

export function getModelRoute(deps: GatewayDeps) {
  return async function getModel(ctx: RequestContext, params: Record<string, string | undefined>): Promise<void> {
    ctx.principal = await deps.auth.authenticate(ctx.req.headers.authorization);
    const id = params['*'] ?? '';
    const model = deps.registry.get(id);
    if (!model || !mayUse(model.config, ctx.principal)) throw notFound(id, null);
    sendJson(ctx.res, describe(model), ctx.id);
  };
}
