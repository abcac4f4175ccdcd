// How an answer reaches the client when the API the client called is not the engine's: the
// Responses API runs on the chat completions path (src/responses/) and retells its answer. The
// request path calls these where it would write chat completions' own bytes; without a wire it
// writes those bytes unchanged (no cost on the chat and completions endpoints).
import type { GatewayError } from '../errors/gateway-error.js';

/**
 * A Responses API request, for the attempts that go to a deployment serving it natively: built
 * only when such an attempt happens (most deployments translate).
 */
export interface NativeResponses {
  /** The Responses body for that engine, for the model the attempt serves (a fallback's, say). */
  body(model: string): Record<string, unknown>;
  /** The wire that retells the engine's Response (one per request). */
  wire(): AnswerWire;
  /** The translating wire, for attempts on deployments that speak chat. */
  translated: AnswerWire;
}

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
