// What the gateway checks in each SSE payload of an engine's stream. Every payload is parsed once:
// the contract lets nothing that is not JSON reach the client, and no cheaper check is sound (a
// framing check passes `{…}` that is not JSON; a scanner written in JavaScript measured no faster
// than V8's JSON.parse). The original text, not a re-serialization, is what gets forwarded.
import { GatewayError } from '../../errors/gateway-error.js';
import type { Usage } from '../types.js';

export interface StreamEvent {
  error?: unknown;
  usage?: unknown;
  choices?: unknown[];
}

function invalid(data: string, cause?: unknown): GatewayError {
  return new GatewayError('upstream_invalid_response', { cause, upstreamBody: data.slice(0, 4096) });
}

/** Parses a payload; one that is not a JSON object with `choices` or `error` is upstream_invalid_response. */
export function parseEvent(data: string): StreamEvent {
  let parsed: unknown;
  try {
    parsed = JSON.parse(data);
  } catch (cause) {
    throw invalid(data, cause);
  }
  const ok = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed);
  const event = parsed as StreamEvent;
  if (!ok || (event.error === undefined && !Array.isArray(event.choices))) throw invalid(data);
  return event;
}

export function isUsage(x: unknown): x is Usage {
  return typeof x === 'object' && x !== null && typeof (x as Usage).prompt_tokens === 'number';
}
