// How an engine's failure maps to the catalog. The raw upstream body goes to the log only; the
// user sees the catalog's message, except for a 400 whose message helps fix the request.
import { GatewayError } from '../errors/gateway-error.js';

const MAX_MESSAGE = 500;

function upstreamMessage(raw: string): { message?: string; param?: string | null } {
  try {
    const j = JSON.parse(raw) as Record<string, unknown>;
    const e = (typeof j.error === 'object' && j.error !== null ? j.error : j) as Record<string, unknown>;
    const message = typeof e.message === 'string' ? e.message.slice(0, MAX_MESSAGE) : undefined;
    const param = typeof e.param === 'string' ? e.param : null;
    return { message, param };
  } catch {
    return {};
  }
}

/** Retry-After in seconds or as an HTTP date, to milliseconds. */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (!v) return undefined;
  const secs = Number(v);
  if (Number.isFinite(secs)) return Math.max(0, secs * 1000);
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

export function errorFromUpstreamStatus(status: number, rawBody: string, retryAfter?: string | string[]): GatewayError {
  const upstreamBody = rawBody.slice(0, 4096);
  switch (status) {
    case 400:
    case 422: {
      const { message, param } = upstreamMessage(rawBody);
      const code = message && /not supported|unsupported/i.test(message) ? 'unsupported_parameter' : 'invalid_parameter';
      return new GatewayError(code, { message, param, upstreamBody });
    }
    case 401:
    case 403:
      return new GatewayError('upstream_auth_failed', { upstreamBody });
    case 404:
      return new GatewayError('model_not_deployed', { message: 'The engine behind this model does not serve it.', upstreamBody });
    case 413:
      return new GatewayError('payload_too_large', { message: 'The request is too large for the engine.', upstreamBody });
    case 429:
    case 503:
      return new GatewayError('engine_overloaded', { retryAfterMs: parseRetryAfter(retryAfter), upstreamBody });
    case 500:
      return new GatewayError('engine_error', { upstreamBody });
    case 502:
    case 504:
      return new GatewayError('upstream_unreachable', { upstreamBody });
    default:
      return new GatewayError('upstream_unknown_error', { message: `The inference engine answered with status ${status}.`, upstreamBody });
  }
}
