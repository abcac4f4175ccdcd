// Which requests the request log keeps, and the row it keeps of one: what the gateway knew of it
// when it answered. Built only for requests that get a row, so an ordinary request pays one test.
import type { GatewayError } from '../errors/gateway-error.js';
import type { RequestLogRow } from '../store/request-log-repo.js';
import { isoAt } from '../store/period.js';
import type { RequestContext } from './context.js';

/** Bounds on what clients choose, so that a row stays small whatever they send. */
const MAX_REQUESTED_MODEL = 128;
const MAX_PATH = 200;
const MAX_MESSAGE = 1_000;

/** Status nginx uses for "client closed request": the gateway's own for a client that left. */
const CLIENT_CLOSED = 499;

/**
 * Answered with an error (refused or failed, before or during a stream), or retried: what support
 * may be asked about, and what the ledger, which holds only requests that produced output, lacks.
 */
export function worthLogging(ctx: RequestContext, status: number): boolean {
  return status >= 400 || ctx.midStreamError !== undefined || (ctx.attempts ?? 0) > 1;
}

const cut = (s: string, n: number) => (s.length > n ? s.slice(0, n) : s);
const ms = (v: number) => Math.round(v * 100) / 100;

/** `error`: the error the client was given, if any (the response's, else a stream's). */
export function requestLogRow(ctx: RequestContext, status: number, error: GatewayError | undefined): RequestLogRow {
  const url = ctx.req.url ?? '/';
  const q = url.indexOf('?');
  const requested = ctx.body?.model;
  const err = error ?? ctx.midStreamError;
  return {
    request_id: ctx.id,
    created_at: new Date().toISOString(),
    account_id: ctx.principal?.account.id ?? null,
    key_id: ctx.principal?.key.id ?? null,
    model: ctx.model?.config.id ?? null,
    requested_model: typeof requested === 'string' ? cut(requested, MAX_REQUESTED_MODEL) : null,
    deployment: ctx.deployment?.config.id ?? null,
    endpoint: ctx.api ?? ctx.endpoint ?? null,
    method: cut(ctx.req.method ?? '', 16),
    path: cut(q === -1 ? url : url.slice(0, q), MAX_PATH),
    status,
    error_code: err?.code ?? ctx.errorCode ?? null,
    message: err ? cut(err.message, MAX_MESSAGE) : status === CLIENT_CLOSED ? 'The client closed the connection before the answer was complete.' : null,
    attempts: ctx.attempts ?? 0,
    started_at: isoAt(ctx.startedAtMs),
    duration_ms: ms(performance.now() - ctx.startedAt),
    first_byte_ms: ctx.firstByteMs === undefined ? null : ms(ctx.firstByteMs),
  };
}
