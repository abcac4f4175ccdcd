// The admin API over HTTP, for CLI commands that act on a running gateway's memory (models'
// maintenance and weights) rather than on the store. The gateway's error bodies come back as the
// same GatewayError the local commands throw, so the CLI reports both alike.
import { request } from 'undici';
import { catalog, type ErrorCode } from '../errors/catalog.js';
import { GatewayError } from '../errors/gateway-error.js';

/** The gateway could not be asked, or answered something that is not the admin API. */
export class AdminClientError extends Error {
  override name = 'AdminClientError';
}

export interface AdminClientOptions {
  /** The gateway's base URL, e.g. http://127.0.0.1:8080. */
  url: string;
  token: string | undefined;
  timeoutMs?: number;
}

const isCatalogCode = (code: unknown): code is ErrorCode => typeof code === 'string' && Object.hasOwn(catalog, code);

export function createAdminClient(opts: AdminClientOptions) {
  const base = opts.url.replace(/\/+$/, '');
  const timeout = opts.timeoutMs ?? 10_000;
  return {
    async call<T>(method: 'GET' | 'PATCH', path: string, body?: unknown): Promise<T> {
      // Checked here, not left to the gateway's 401: the fix is on this side, so say how.
      if (!opts.token) throw new AdminClientError('the admin API needs the admin token: pass --admin-token or set SLUICE_ADMIN_TOKEN');
      let res;
      try {
        res = await request(`${base}${path}`, {
          method,
          headers: { authorization: `Bearer ${opts.token}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
          ...(body !== undefined && { body: JSON.stringify(body) }),
          headersTimeout: timeout,
          bodyTimeout: timeout,
        });
      } catch (err) {
        throw new AdminClientError(`cannot reach the gateway at ${base}: ${(err as Error).message}`, { cause: err });
      }
      const text = await res.body.text();
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        throw new AdminClientError(`the gateway at ${base} answered ${res.statusCode} with no JSON body`);
      }
      if (res.statusCode >= 200 && res.statusCode < 300) return parsed as T;
      const e = (parsed as { error?: { code?: unknown; message?: unknown; param?: unknown } }).error;
      // Without an admin token configured the gateway has no admin routes at all (admin-auth.ts).
      if (e?.code === 'route_not_found') throw new AdminClientError(`the gateway at ${base} has no admin API: give it an admin token (adminToken in its config, or SLUICE_ADMIN_TOKEN)`);
      if (e && isCatalogCode(e.code)) {
        throw new GatewayError(e.code, { message: typeof e.message === 'string' ? e.message : undefined, param: typeof e.param === 'string' ? e.param : null });
      }
      throw new AdminClientError(`the gateway at ${base} answered ${res.statusCode}: ${text.slice(0, 200)}`);
    },
  };
}

export type AdminClient = ReturnType<typeof createAdminClient>;
