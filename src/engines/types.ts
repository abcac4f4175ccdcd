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

/** A LoRA adapter to load: the adapter model's id (the name requests then use) and what to load. */
export interface AdapterSpec {
  name: string;
  /** A path or URI on the engine's side (the adapter's `source`). */
  source: string;
}

export interface Engine {
  /**
   * Work to finish before the gateway listens (a local engine loads its model): a failure stops
   * the start with its message. Optional.
   */
  start?(): Promise<void>;
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
  /**
   * Loads a LoRA adapter so that calls whose `body.model` is `adapter.name` use it. Resolves once
   * the engine serves it (an engine that already has it loaded resolves too). Throws
   * AdapterLoadError (adapter-load-error.ts) when the engine refuses or cannot read it: the gateway
   * answers 412 adapter_load_failed and remembers the failure for a while. Any other error (a
   * GatewayError such as upstream_unreachable) is taken as the engine being unavailable, not
   * remembered. Stops promptly when `cancel` is aborted (a load timeout, the gateway closing).
   * The gateway runs at most one load per adapter and deployment at a time, and never loads an
   * adapter while an unload of the same one is under way. Absent: the engine cannot load adapters
   * (their requests get 412).
   */
  loadAdapter?(deployment: DeploymentConfig, adapter: AdapterSpec, cancel: Cancellation): Promise<void>;
  /**
   * Unloads an adapter loaded by loadAdapter (least recently used, past the deployment's
   * maxAdapters). No request using it is in flight on this gateway when it is called. A failure
   * is logged; the gateway counts the adapter as unloaded either way.
   */
  unloadAdapter?(deployment: DeploymentConfig, name: string): Promise<void>;
  close(): Promise<void>;
}
