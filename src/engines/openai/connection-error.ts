// How a failure of the connection to an engine (refused, reset, DNS, TLS, socket closed) or of the
// request on it is told: our own abort carries its reason (a timeout's error, the client gone).
import { errors as undiciErrors } from 'undici';
import { GatewayError } from '../../errors/gateway-error.js';
import type { Cancellation } from '../../server/cancellation.js';

function isAbort(err: unknown): boolean {
  return (err as Error)?.name === 'AbortError' || err instanceof undiciErrors.RequestAbortedError;
}

/** Connection-level failures: refused, reset, DNS, TLS, socket closed. */
export function connectionError(err: unknown, cancel: Cancellation): unknown {
  if (cancel.aborted || isAbort(err)) return cancel.reason ?? err;
  return new GatewayError('upstream_unreachable', { cause: err });
}
