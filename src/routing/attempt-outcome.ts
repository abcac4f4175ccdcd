// What one failed attempt means, for the retry loop (route.ts) and for the deployment's health
// (circuit.ts). The contract's rule: retry only causes that another try can fix (connect failure,
// reset, 502, capacity 503/429, first-token timeout), and an engine 500 once, on another
// deployment only (the same engine would likely fail the same request the same way).
import { GatewayError } from '../errors/gateway-error.js';

/** 'any': retry, elsewhere if possible; 'elsewhere': only on a deployment not tried yet; 'no'. */
export type RetryVerdict = 'any' | 'elsewhere' | 'no';

export function retryVerdict(err: unknown): RetryVerdict {
  if (!(err instanceof GatewayError)) return 'no';
  switch (err.code) {
    case 'upstream_unreachable':
    case 'upstream_invalid_response':
    case 'engine_overloaded':
    case 'first_token_timeout':
      return 'any';
    case 'engine_error':
      return 'elsewhere';
    default:
      return 'no';
  }
}

/**
 * How an attempt's outcome counts for its deployment's health: a failure of the engine, a sign it
 * is busy (capacity answers: handled by its retry advice, not by ejecting it), or neither (the
 * client left; the gateway's own limits; an answer that is the request's fault, not the engine's).
 */
export type HealthVerdict = 'success' | 'failure' | 'busy' | 'neutral';

export function healthVerdict(err: unknown): HealthVerdict {
  if (err === undefined) return 'success';
  if (!(err instanceof GatewayError)) return 'neutral';
  switch (err.code) {
    case 'upstream_unreachable':
    case 'upstream_invalid_response':
    case 'upstream_unknown_error':
    case 'engine_error':
    case 'first_token_timeout':
    case 'stream_timeout':
      return 'failure';
    case 'engine_overloaded':
      return 'busy';
    case 'generation_timeout':
    case 'server_overloaded':
    case 'queue_timeout':
    case 'dependency_unavailable':
    case 'internal_error':
      return 'neutral';
    default:
      // The engine answered, with a 4xx about the request: it is working.
      return err.entry.status < 500 ? 'success' : 'neutral';
  }
}

/**
 * Which of two final errors tells the client more. A capacity 503 (with the engines' advice) or a
 * first-token 504 is never replaced by a vaguer one, such as no_healthy_deployment after the
 * circuits opened on the failures the client should hear about.
 */
const RANK: Record<string, number> = {
  engine_overloaded: 6,
  first_token_timeout: 6,
  server_overloaded: 5,
  queue_timeout: 5,
  engine_error: 4,
  upstream_invalid_response: 3,
  upstream_unknown_error: 3,
  upstream_unreachable: 2,
};

/** The more informative of the two; on a tie the newer (its advice is fresher). */
export function moreInformative(kept: GatewayError | undefined, next: GatewayError): GatewayError {
  if (!kept) return next;
  return (RANK[next.code] ?? 1) >= (RANK[kept.code] ?? 1) ? next : kept;
}
