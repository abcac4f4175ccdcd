// What the gateway checks in an SSE payload of an engine's stream, and in an engine's usage. The
// contract lets nothing that is not JSON reach the client: a payload is parsed here unless
// chunk-template.ts proves it valid without parsing. (A framing check would pass `{…}` that is not
// JSON; a full JSON scanner written in JavaScript measured no faster than V8's JSON.parse.) The
// original text, not a re-serialization, is what gets forwarded.
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

function tokenCount(x: unknown): x is number {
  return typeof x === 'number' && Number.isFinite(x) && x >= 0;
}

/**
 * An engine's `usage`, if it is one: token counts that are finite, non-negative numbers (a missing
 * completion count is 0). Anything else is no usage at all: it must never reach the ledger or the
 * metrics as NaN or a string.
 */
export function toUsage(x: unknown): Usage | undefined {
  if (typeof x !== 'object' || x === null) return undefined;
  const { prompt_tokens: prompt, completion_tokens: completion = 0, total_tokens: total } = x as Record<string, unknown>;
  if (!tokenCount(prompt) || !tokenCount(completion)) return undefined;
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: tokenCount(total) ? total : prompt + completion };
}
