// The Responses API's side of the request path (server/answer-wire.ts): the engine's chat answer
// or stream retold as a Response, and the Response stored (when `store` is not false) before the
// client is told it is complete, so a `previous_response_id` sent right after finds it.
import type { GatewayError } from '../errors/gateway-error.js';
import type { AnswerWire } from '../server/answer-wire.js';
import { responseObject, stateFromChat, type ResponseShell, type ResponseState } from './response-object.js';
import { ResponsesStream } from './stream-events.js';

type Json = Record<string, unknown>;

/** Called with the finished response; stores it. Failures are the caller's to log: the answer stands. */
export type SaveResponse = (response: Json, output: Json[]) => Promise<void>;

export function responsesWire(shell: ResponseShell, save: SaveResponse | undefined): AnswerWire {
  const stream = new ResponsesStream(shell);
  const finish = async (state: ResponseState): Promise<Json> => {
    const response = responseObject(shell, state);
    if (save) await save(response, state.output);
    return response;
  };
  return {
    async json(engineAnswer: string) {
      return JSON.stringify(await finish(stateFromChat(JSON.parse(engineAnswer) as Parameters<typeof stateFromChat>[0])));
    },
    start: () => stream.start(),
    events: (payloads: string[]) => stream.events(payloads),
    async end() {
      const { text, state } = stream.end();
      await finish(state);
      return text;
    },
    fail: (err: GatewayError, requestId: string) => stream.fail(err, requestId),
  };
}
