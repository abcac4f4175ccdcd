// The Responses API's wire for a deployment whose engine speaks it natively (`responses: native`):
// the engine's events and Response pass on, but every Response they carry is retold in the
// gateway's own envelope (its id, which the store and previous_response_id know; the client's
// model name and the request's settings as the client sent them, where the engine was sent
// store: false and the whole conversation), with the engine's output, usage and status inside.
// Sequence numbers are the gateway's, so its own closing events continue them on a failure.
import type { GatewayError } from '../errors/gateway-error.js';
import { responsesErrorEvent } from '../errors/render.js';
import type { AnswerWire } from '../server/answer-wire.js';
import { failedCode, responseObject, type ResponseShell, type ResponseState, type ResponseStatus } from './response-object.js';
import type { SaveResponse } from './wire.js';

type Json = Record<string, unknown>;

const STATUSES = new Set<ResponseStatus>(['in_progress', 'completed', 'incomplete', 'failed']);
const REASONS = new Set(['max_output_tokens', 'content_filter']);

/** What the engine's Response says happened, for the gateway's envelope. */
function stateOf(r: Json): ResponseState {
  const status = STATUSES.has(r.status as ResponseStatus) ? (r.status as ResponseStatus) : 'completed';
  const reason = (r.incomplete_details as { reason?: unknown } | null | undefined)?.reason;
  const usage = typeof r.usage === 'object' && r.usage !== null ? (r.usage as Json) : null;
  return {
    status,
    output: Array.isArray(r.output) ? (r.output as Json[]) : [],
    usage,
    incomplete: typeof reason === 'string' && REASONS.has(reason) ? (reason as ResponseState['incomplete']) : undefined,
  };
}

export function nativeResponsesWire(shell: ResponseShell, save: SaveResponse | undefined): AnswerWire {
  let seq = 0;
  let final: Json | undefined;
  /** Output items the stream finished, for response.failed if it breaks off. */
  const done: Json[] = [];
  const frame = (type: string, event: Json) => `event: ${type}\ndata: ${JSON.stringify({ ...event, type, sequence_number: seq++ })}\n\n`;
  return {
    async json(engineAnswer: string) {
      const response = responseObject(shell, stateOf(JSON.parse(engineAnswer) as Json));
      if (save) await save(response, response.output as Json[]);
      return JSON.stringify(response);
    },
    events(payloads: string[]) {
      let out = '';
      for (const p of payloads) {
        const event = JSON.parse(p) as Json;
        const type = event.type as string;
        if (typeof event.response === 'object' && event.response !== null) {
          event.response = responseObject(shell, stateOf(event.response as Json));
          if (type === 'response.completed' || type === 'response.incomplete') final = event.response as Json;
        }
        if (type === 'response.output_item.done' && typeof event.item === 'object' && event.item !== null) done.push(event.item as Json);
        out += frame(type, event);
      }
      return out;
    },
    async end() {
      if (save && final) await save(final, final.output as Json[]);
      return '';
    },
    fail(err: GatewayError, requestId: string) {
      const state: ResponseState = { status: 'failed', output: done, usage: null, error: { code: failedCode(err.entry.status), message: err.message } };
      const response = responseObject(shell, state);
      if (save) void save(response, done); // as in wire.ts: kept as failed, not awaited
      return frame('error', responsesErrorEvent(err, requestId)) + frame('response.failed', { response });
    },
  };
}
