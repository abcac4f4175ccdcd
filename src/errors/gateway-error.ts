import { catalog, type CatalogEntry, type ErrorCode } from './catalog.js';

export interface GatewayErrorDetails {
  /** Replaces the catalog's default message. Must never carry secrets, hosts or another tenant's data. */
  message?: string;
  /** Path of the offending field, e.g. `messages[2].role`. */
  param?: string | null;
  /** Known wait before a retry can succeed; sent as retry-after for entries with a wait. */
  retryAfterMs?: number;
  /** Extra response headers (e.g. `allow` for 405). */
  headers?: Record<string, string>;
  /** For the log only: never rendered to the client. */
  cause?: unknown;
  /** For the log only: what the upstream said, verbatim. */
  upstreamBody?: string;
}

/** The one error type of the request path: a catalog code plus details. */
export class GatewayError extends Error {
  readonly code: ErrorCode;
  readonly entry: CatalogEntry;
  readonly param: string | null;
  readonly retryAfterMs: number | undefined;
  readonly headers: Record<string, string> | undefined;
  readonly upstreamBody: string | undefined;

  constructor(code: ErrorCode, details: GatewayErrorDetails = {}) {
    const entry = catalog[code];
    super(details.message ?? entry.message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'GatewayError';
    this.code = code;
    this.entry = entry;
    this.param = details.param ?? null;
    this.retryAfterMs = details.retryAfterMs;
    this.headers = details.headers;
    this.upstreamBody = details.upstreamBody;
  }
}

export function isGatewayError(err: unknown): err is GatewayError {
  return err instanceof GatewayError;
}

/** Anything thrown that is not a GatewayError is a bug: it becomes a generic 500. */
export function toGatewayError(err: unknown): GatewayError {
  return isGatewayError(err) ? err : new GatewayError('internal_error', { cause: err });
}
