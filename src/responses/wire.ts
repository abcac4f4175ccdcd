// The Responses API's side of the request path (server/answer-wire.ts): the engine's chat answer
// or stream retold as a Response, and the Response stored (when `store` is not false) before the
// client is told it is complete, so a `previous_response_id` sent right after finds it. A
// response that failed mid-stream is stored too, with status `failed`.
import type { GatewayError } from '../errors/gateway-error.js';
import type { AnswerWire } from '../server/answer-wire.js';
import { responseObject, stateFromChat, type ResponseShell } from './response-object.js';
import { ResponsesStream } from './stream-events.js';

type Json = Record<string, unknown>;

/** Called with the finished response; stores it. Failures are the caller's to log: the answer stands. */
export type SaveResponse = (response: Json, output: Json[]) => Promise<void>;

export function responsesWire(shell: ResponseShell, save: SaveResponse | undefined): AnswerWire {
  const stream = new ResponsesStream(shell);
  return {
    async json(engineAnswer: string) {
      const state = stateFromChat(JSON.parse(engineAnswer) as Parameters<typeof stateFromChat>[0]);
      const response = responseObject(shell, state);
      if (save) await save(response, state.output);
      return JSON.stringify(response);
    },
    events: (payloads: string[]) => stream.events(payloads),
    async end() {
      const { text, response, output } = stream.end();
      if (save) await save(response, output);
      return text;
    },
    fail(err: GatewayError, requestId: string) {
      const { text, response, output } = stream.fail(err, requestId);
      // Kept as failed, as OpenAI keeps them (the client may look it up by id); not awaited: the
      // failure is told at once, and a store failure is logged by `save` itself.
      if (save) void save(response, output);
      return text;
    },
  };
}
