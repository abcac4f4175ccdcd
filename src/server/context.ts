import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Reservation } from '../store/billing-repo.js';
import type { GatewayError } from '../errors/gateway-error.js';
import type { Principal } from '../keys/authenticate.js';
import type { Endpoint, Usage } from '../engines/types.js';
import type { Deployment, RegisteredModel } from '../routing/registry.js';
import type { Cancellation } from './cancellation.js';
import type { PromptPrefix } from '../routing/prefix-blocks.js';
import type { Prompt } from '../tokenize/prompt.js';
import type { Priority } from '../store/keys-repo.js';
import type { LimitSpend } from '../stages/check-rate-limits.js';
import type { AnswerWire, NativeResponses } from './answer-wire.js';

/** Everything one request accumulates on its way through the stages; read by the final log line. */
export interface RequestContext {
  id: string;
  req: IncomingMessage;
  res: ServerResponse;
  startedAt: number;
  /** Wall-clock start (ms since the epoch), for the ledger. */
  startedAtMs: number;
  /** Aborted when the client goes away or a timeout fires; passed down to the engine. */
  cancel: Cancellation;
  principal?: Principal;
  endpoint?: Endpoint;
  /** The API the client called, where it is not `endpoint` (the Responses API runs as chat). */
  api?: 'responses';
  /** How the answer is written for that API (absent: the engine's bytes, as they are). */
  wire?: AnswerWire;
  /**
   * A Responses API request, for deployments that serve it natively: the body such an engine is
   * sent and the wire that retells its answer (else `wire` and the chat body serve the attempt).
   */
  native?: NativeResponses;
  body?: Record<string, unknown>;
  stream?: boolean;
  model?: RegisteredModel;
  /** The class the x-sluice-priority header asked for (it may only lower the key's). */
  requestedPriority?: Priority;
  /** The deployment of the latest attempt: the one that served, when one did. */
  deployment?: Deployment;
  /** The prompt as chained block hashes, for prefix-aware routing (computed once, when needed). */
  prefixBlocks?: PromptPrefix;
  /** Attempts made on engines (retries and fallbacks included). */
  attempts?: number;
  /** What in the body adds prompt tokens (gathered once). */
  prompts?: Prompt[];
  /** Each prompt's token count, once counted (a count over the limit it was counted to stops early). */
  promptCounts?: number[];
  /** The exact prompt tokens, known when every prompt was counted in full. */
  promptTokens?: number;
  usage?: Usage;
  firstByteMs?: number;
  /** Non-streaming: when the engine produced its first token (where it says), ms after startedAt. */
  firstTokenMs?: number;
  /** Events sent on a stream: the output estimate when a stream fails before reporting usage. */
  streamedEvents?: number;
  /** Rate-limit tokens held for this request until it settles. */
  limitSpend?: LimitSpend;
  /** Credits and caps held for this request until it settles. */
  reservation?: Reservation;
  /** The catalog code of the error response, if any. */
  errorCode?: string;
  /** A failure after the stream started, sent to the client as an SSE error event. */
  midStreamError?: GatewayError;
}

/** The reason a request's work was aborted because its client disconnected. */
export class ClientClosed extends Error {
  constructor() {
    super('client closed the connection');
    this.name = 'ClientClosed';
  }
}

/**
 * The client can no longer receive the answer: its response or its connection is closed. Both,
 * because a pipelined request waiting its turn has a response with no socket yet, which does not
 * learn that the connection closed under it.
 */
export function clientGone(ctx: RequestContext): boolean {
  return ctx.res.destroyed || ctx.req.socket.destroyed;
}
