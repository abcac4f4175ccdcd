// Routes and the contract's first precedence step: unknown path 404, wrong method 405 + allow.
import FindMyWay, { type HTTPMethod } from 'find-my-way';
import { GatewayError } from '../errors/gateway-error.js';
import type { RequestContext } from './context.js';

export type RouteHandler = (ctx: RequestContext, params: Record<string, string | undefined>) => Promise<void>;

export interface Route {
  method: HTTPMethod;
  path: string;
  handler: RouteHandler;
}

const METHODS: HTTPMethod[] = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];

export interface Router {
  /** The handler for a request, or a 404/405 GatewayError thrown. */
  match(method: string, url: string): { handler: RouteHandler; params: Record<string, string | undefined> };
}

export function createRouter(routes: Route[]): Router {
  const fmw = FindMyWay({ ignoreTrailingSlash: true, ignoreDuplicateSlashes: true, maxParamLength: 512 });
  for (const r of routes) fmw.on(r.method, r.path, () => undefined, { handler: r.handler });
  // A wrong path is answered with the API's own endpoints (not the admin ones), as they are written in OpenAI's docs.
  const served = routes
    .filter((r) => r.path.startsWith('/v1/'))
    .map((r) => `${r.method} ${r.path.replace(/:(\w+)/g, '{$1}').replace(/\*$/, '{model}')}`)
    .join(', ');

  return {
    match(method, url) {
      const q = url.indexOf('?');
      const path = q === -1 ? url : url.slice(0, q);
      const found = fmw.find(method as HTTPMethod, path);
      if (found) return { handler: (found.store as { handler: RouteHandler }).handler, params: found.params };
      const allow = METHODS.filter((m) => m !== method && fmw.find(m, path) !== null);
      if (allow.length > 0) {
        throw new GatewayError('method_not_allowed', { message: `Method ${method} is not allowed on ${path.slice(0, 200)}; use ${allow.join(', ')}.`, headers: { allow: allow.join(', ') } });
      }
      throw new GatewayError('route_not_found', { message: `No route ${method} ${path.slice(0, 200)}. ${served ? `This gateway serves ${served}.` : ''}`.trimEnd() });
    },
  };
}
