// What the gateway checks in a Responses API answer from an engine that speaks it natively
// (deployment `responses: native`, e.g. vLLM): each stream event is a JSON object with a `type`;
// response.completed / response.incomplete end the stream and carry the usage; an engine's own
// `error` or response.failed is its failure, mapped to the catalog like a chat stream's error.
// The events pass on as they came; the gateway's wire (responses/native-wire.ts) retells them.
import { GatewayError } from '../../errors/gateway-error.js';
import type { Usage } from '../types.js';

type Json = Record<string, unknown>;

const TERMINAL = new Set(['response.completed', 'response.incomplete']);

function invalid(data: string, cause?: unknown): GatewayError {
  return new GatewayError('upstream_invalid_response', { cause, upstreamBody: data.slice(0, 4096) });
}

function count(x: unknown): x is number {
  return typeof x === 'number' && Number.isFinite(x) && x >= 0;
}

/** A Response's `usage` in chat terms, for the ledger; anything malformed is no usage at all. */
export function usageOfResponse(response: unknown): Usage | undefined {
  const u = (response as { usage?: unknown } | null)?.usage;
  if (typeof u !== 'object' || u === null) return undefined;
  const { input_tokens: input, output_tokens: output = 0, total_tokens: total } = u as Json;
  if (!count(input) || !count(output)) return undefined;
  return { prompt_tokens: input, completion_tokens: output, total_tokens: count(total) ? total : input + output };
}

/** A whole Response from the engine (non-streamed), checked: an object with an `output` list. */
export function parseResponse(text: string): Json {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (cause) {
    throw invalid(text, cause);
  }
  if (typeof body !== 'object' || body === null || !Array.isArray((body as Json).output)) throw invalid(text);
  return body as Json;
}

/**
 * Checks one event of a native stream (see upstream-events.ts's AcceptPayload); `onTerminal` gets
 * the final Response.
 */
export function acceptResponseEvent(data: string, end: () => void, onTerminal: (response: Json) => void): string {
  let event: Json;
  try {
    event = JSON.parse(data) as Json;
  } catch (cause) {
    throw invalid(data, cause);
  }
  if (typeof event !== 'object' || event === null || typeof event.type !== 'string') throw invalid(data);
  if (event.type === 'error' || event.type === 'response.failed') {
    throw new GatewayError('upstream_unknown_error', { message: 'The inference engine failed during the stream.', upstreamBody: data.slice(0, 4096) });
  }
  if (TERMINAL.has(event.type)) {
    if (typeof event.response !== 'object' || event.response === null) throw invalid(data);
    onTerminal(event.response as Json);
    end();
  }
  return data;
}
