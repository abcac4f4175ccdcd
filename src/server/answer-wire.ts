// How an answer reaches the client when the API the client called is not the engine's: the
// Responses API runs on the chat completions path (src/responses/) and retells its answer. The
// request path calls these where it would write chat completions' own bytes; without a wire it
// writes those bytes unchanged (no cost on the chat and completions endpoints).
import type { GatewayError } from '../errors/gateway-error.js';

export interface AnswerWire {
  /** Non-streaming: the client's body for the engine's JSON answer (text). */
  json(engineAnswer: string): Promise<string>;
  /** Streaming: SSE text for a batch of the engine's data payloads (the first also opens the stream). */
  events(payloads: string[]): string;
  /** Streaming: the closing events, in place of `data: [DONE]`. */
  end(): Promise<string>;
  /** Streaming: a failure after the stream started, in place of the error event and [DONE]. */
  fail(err: GatewayError, requestId: string): string;
}
