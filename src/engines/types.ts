// What every engine adapter implements: a request out, a JSON answer or a stream of SSE data
// payloads back, and every failure as a GatewayError from the catalog.
import type { DeploymentConfig, FaultName, ModelConfig } from '../config/schema.js';
import type { Cancellation } from '../server/cancellation.js';

export type Endpoint = 'chat' | 'completions' | 'embeddings';

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export interface EngineCall {
  endpoint: Endpoint;
  /** The validated client body; `model` is the client's model id. */
  body: Record<string, unknown>;
  model: ModelConfig;
  deployment: DeploymentConfig;
  requestId: string;
  /** Aborted when the client goes away or a timeout fires: engines stop work promptly. */
  cancel: Cancellation;
  /** x-sluice-fault, only when the deployment has faultHeader: true. */
  fault: FaultName | undefined;
  /** The client asked for stream_options.include_usage. */
  clientWantsUsage: boolean;
  /**
   * json() only: called once when the engine produced its first token (or, for embeddings, began
   * its answer). Until then the first-token timeout runs, for non-streaming requests too, so a hung
   * engine is found within firstTokenMs rather than at the total timeout (see reportsFirstToken).
   */
  onFirstToken?: () => void;
  /** `body` is a Responses API body, for the engine's responsesJson / responsesStream. */
  responses?: true;
}

export interface JsonAnswer {
  /** The response body as JSON text, `model` already set to the client's model id. */
  text: string;
  usage: Usage | undefined;
}

export interface StreamAnswer {
  /**
   * SSE `data:` payloads (JSON text, without `[DONE]`), in order, ready for the client. Payloads
   * that arrived together come as one array, so they leave in one write.
   */
  events: AsyncIterable<string[]>;
  /** Usage, known once the stream has ended (engines are always asked for it). */
  usage(): Usage | undefined;
  /**
   * True when the batch just taken was the last: the stream ended cleanly and nothing is left.
   * The gateway then sends that batch together with the end, in one write. Optional.
   */
  complete?(): boolean;
}

export interface Engine {
  /**
   * True when json() calls `onFirstToken` as its first token is produced: the gateway then runs
   * the first-token timeout on non-streaming requests as well (else only the total timeout).
   */
  readonly reportsFirstToken?: boolean;
  json(call: EngineCall): Promise<JsonAnswer>;
  stream(call: EngineCall): Promise<StreamAnswer>;
  /**
   * Engines that speak the Responses API natively (deployment `responses: native`): `call.body` is
   * a Responses API body, and answers are Response objects / Responses stream event payloads.
   */
  responsesJson?(call: EngineCall): Promise<JsonAnswer>;
  responsesStream?(call: EngineCall): Promise<StreamAnswer>;
  close(): Promise<void>;
}
