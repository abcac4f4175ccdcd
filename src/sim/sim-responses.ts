// The simulator's own POST /v1/responses, as vLLM serves one, so deployments with
// `responses: native` are tested over real HTTP: the body is checked and run as chat (with the
// gateway's translation, which is also what a Responses-speaking engine's answer looks like), and
// the answer told as a Response or its event stream. Like vLLM run without a store it keeps
// nothing: previous_response_id and item references are refused.
import { toGatewayError } from '../errors/gateway-error.js';
import { responsesRequest } from '../responses/request-schema.js';
import { newShell, responseObject, stateFromChat } from '../responses/response-object.js';
import { ResponsesStream } from '../responses/stream-events.js';
import { normalizeInput, toChatBody } from '../responses/to-chat.js';
import { SimRequestError } from './sim-core.js';

type Json = Record<string, unknown>;

export interface SimResponsesRequest {
  /** The chat body the simulator runs. */
  chat: Json;
  /** The answer told as a Response (non-streamed). */
  answer(chatAnswer: unknown): string;
  /** The stream told as Responses events: one call per chat chunk, then the closing events. */
  events(chunk: unknown): string;
  end(): string;
}

export function simResponsesRequest(body: Json): SimResponsesRequest {
  const parsed = responsesRequest.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new SimRequestError(issue.message, issue.path.join('.') || null);
  }
  const req = parsed.data;
  if (req.previous_response_id != null) throw new SimRequestError('previous_response_id is not supported: this engine stores no responses', 'previous_response_id');
  if (req.store === true) throw new SimRequestError('store is not supported: this engine stores no responses', 'store');
  let chat: Json;
  try {
    chat = toChatBody(req, [], normalizeInput(req.input, new Map()));
  } catch (err) {
    const e = toGatewayError(err);
    throw new SimRequestError(e.message, e.param ?? null);
  }
  const shell = newShell(req);
  const stream = new ResponsesStream(shell);
  return {
    chat,
    answer: (chatAnswer) => JSON.stringify(responseObject(shell, stateFromChat(chatAnswer as Parameters<typeof stateFromChat>[0]))),
    events: (chunk) => stream.events([JSON.stringify(chunk)]),
    end: () => stream.end().text,
  };
}
