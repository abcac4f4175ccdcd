// The only module that writes error bodies: JSON responses, SSE error events, and raw-socket
// answers for requests Node could not parse. Everything else throws a GatewayError.
import type { ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { STATUS_CODES } from 'node:http';
import type { GatewayError } from './gateway-error.js';

const MAX_WAIT_MS = 60_000;
const MIN_WAIT_MS = 1_000;
const DEFAULT_WAIT_MS = 1_000;

export interface RenderedError {
  status: number;
  headers: Record<string, string>;
  body: string;
}

function errorObject(err: GatewayError, requestId: string) {
  return {
    error: {
      message: err.message,
      type: err.entry.type,
      code: err.code,
      param: err.param,
      request_id: requestId,
      retryable: err.entry.retryable,
      hint: err.entry.hint,
    },
  };
}

/**
 * A wait in both header forms, capped at what SDKs accept (60 s): `retry-after-ms` (the OpenAI
 * SDKs prefer it), `retry-after` the same rounded up to whole seconds, at least 1 (HTTP has no
 * smaller unit). A rate limit's wait is exact and sent as it is; any other wait (an engine's own
 * advice, which may say 0) is at least a second, so that no client is told to retry at once.
 */
function waitHeaders(retryAfterMs: number | undefined, exact: boolean): Record<string, string> {
  const ms = Math.min(MAX_WAIT_MS, Math.max(exact ? 1 : MIN_WAIT_MS, Math.ceil(retryAfterMs ?? DEFAULT_WAIT_MS)));
  return { 'retry-after': String(Math.max(1, Math.ceil(ms / 1000))), 'retry-after-ms': String(ms) };
}

export function renderError(err: GatewayError, requestId: string): RenderedError {
  const { entry } = err;
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'x-request-id': requestId,
    'x-should-retry': entry.retryable ? 'true' : 'false',
    ...(entry.withWait ? waitHeaders(err.retryAfterMs, entry.type === 'rate_limit_error') : {}),
    ...(entry.status === 401 ? { 'www-authenticate': 'Bearer' } : {}),
    ...(entry.status === 408 ? { connection: 'close' } : {}),
    ...err.headers,
  };
  return { status: entry.status, headers, body: JSON.stringify(errorObject(err, requestId)) };
}

/** Writes a complete JSON error response. Headers already on `res` (rate-limit headers) are kept. */
export function sendError(res: ServerResponse, err: GatewayError, requestId: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const r = renderError(err, requestId);
  r.headers['content-length'] = String(Buffer.byteLength(r.body));
  res.writeHead(r.status, r.headers);
  res.end(r.body);
}

/** The SSE form used once a 200 stream has started: the error event, then [DONE]. */
export function sseErrorEvent(err: GatewayError, requestId: string): string {
  return `data: ${JSON.stringify(errorObject(err, requestId))}\n\ndata: [DONE]\n\n`;
}

/**
 * The fields of a Responses stream's `error` event (its `type` and `sequence_number` are the
 * stream's): OpenAI's flat code, message and param, and the contract's error object beside them,
 * which the official SDKs raise as an APIError (with the request id) when they meet it.
 */
export function responsesErrorEvent(err: GatewayError, requestId: string): Record<string, unknown> {
  const { error } = errorObject(err, requestId);
  return { code: err.code, message: err.message, param: err.param, error };
}

/** For requests Node rejected before they became a request object (bad HTTP, huge headers, slow headers). */
export function writeRawError(socket: Duplex, err: GatewayError, requestId: string): void {
  if (!socket.writable) return;
  const r = renderError(err, requestId);
  r.headers['content-length'] = String(Buffer.byteLength(r.body));
  r.headers.connection = 'close';
  const head = Object.entries(r.headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  socket.end(`HTTP/1.1 ${r.status} ${STATUS_CODES[r.status] ?? 'Error'}\r\n${head}\r\n${r.body}`);
}
