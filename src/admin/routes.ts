// The admin API: accounts, credits, keys, usage, stored responses and the request inspector (in
// the store), and the models' run-time state (in this replica's registry), JSON in and out,
// behind the admin token.
import type { z } from 'zod';
import { validateBody } from '../openai/validate.js';
import type { Route, RouteHandler } from '../server/router.js';
import type { RequestContext } from '../server/context.js';
import { readJsonBody, type BodyLimits } from '../server/body.js';
import { sendJson } from '../server/respond.js';
import { createAdminAuth } from './admin-auth.js';
import { addCreditsInput, createAccountInput, createKeyInput, patchAccountInput, patchDeploymentInput, patchKeyInput, patchModelInput, requestQuery, usageQuery } from './inputs.js';
import type { Actor, ModelOperations } from './model-operations.js';
import type { AdminOperations } from './operations.js';
import type { RequestInspector } from './request-inspector.js';

type Params = Record<string, string | undefined>;

export function adminRoutes(ops: AdminOperations, models: ModelOperations, requests: RequestInspector, token: string | undefined, limits: BodyLimits): Route[] {
  const auth = createAdminAuth(token);
  if (!auth.enabled) return [];

  /** Admin token first (401), then the body (413/408/400), then the operation. */
  function route(method: Route['method'], path: string, run: (ctx: RequestContext, params: Params) => Promise<unknown>, status = 200): Route {
    const handler: RouteHandler = async (ctx, params) => {
      auth.check(ctx.req.headers.authorization);
      sendJson(ctx.res, await run(ctx, params), ctx.id, status);
    };
    return { method, path, handler };
  }
  const body = async <S extends z.ZodType>(ctx: RequestContext, schema: S): Promise<z.infer<S>> => validateBody(schema, (await readJsonBody(ctx.req, limits)).value);
  const query = (ctx: RequestContext) => Object.fromEntries(new URL(ctx.req.url ?? '/', 'http://x').searchParams);
  const actor = (ctx: RequestContext): Actor => ({ requestId: ctx.id, remote: ctx.req.socket.remoteAddress });

  return [
    route('POST', '/admin/accounts', async (ctx) => ops.createAccount(await body(ctx, createAccountInput)), 201),
    route('GET', '/admin/accounts', async () => ({ object: 'list', data: await ops.listAccounts() })),
    route('GET', '/admin/accounts/:id', async (_ctx, p) => ops.getAccount(p.id!)),
    route('PATCH', '/admin/accounts/:id', async (ctx, p) => ops.updateAccount(p.id!, await body(ctx, patchAccountInput))),
    route('POST', '/admin/accounts/:id/credits', async (ctx, p) => ops.addCredits(p.id!, (await body(ctx, addCreditsInput)).amount)),
    route('POST', '/admin/accounts/:id/keys', async (ctx, p) => ops.createKey(p.id!, await body(ctx, createKeyInput)), 201),
    route('GET', '/admin/accounts/:id/keys', async (_ctx, p) => ({ object: 'list', data: await ops.listKeys(p.id!) })),
    route('DELETE', '/admin/accounts/:id/responses', async (_ctx, p) => ops.deleteResponses(p.id!)),
    route('PATCH', '/admin/keys/:id', async (ctx, p) => ops.updateKey(p.id!, await body(ctx, patchKeyInput))),
    route('POST', '/admin/keys/:id/revoke', async (_ctx, p) => ops.revokeKey(p.id!)),
    route('GET', '/admin/usage', async (ctx) => ops.usage(validateBody(usageQuery, query(ctx)))),
    // A wildcard, not `:id`: an id too long for a path parameter, or with a `/`, is still a request id
    // that is not found, not a route that does not exist.
    route('GET', '/admin/requests/*', async (ctx, p) => requests.inspect(p['*'] ?? '', validateBody(requestQuery, query(ctx)).account)),
    route('GET', '/admin/models', async () => ({ object: 'list', data: models.listModels() })),
    route('GET', '/admin/models/:id', async (_ctx, p) => models.getModel(p.id!)),
    route('PATCH', '/admin/models/:id', async (ctx, p) => models.updateModel(p.id!, await body(ctx, patchModelInput), actor(ctx))),
    route('PATCH', '/admin/models/:id/deployments/:deploymentId', async (ctx, p) => models.updateDeployment(p.id!, p.deploymentId!, await body(ctx, patchDeploymentInput), actor(ctx))),
  ];
}
