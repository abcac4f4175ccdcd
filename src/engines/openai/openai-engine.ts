// Any OpenAI-compatible server (vLLM, llama.cpp, Ollama, TGI, hosted providers) over an undici
// keep-alive pool (exchange.ts). Streams pass through event by event without re-serializing JSON;
// only the model name is rewritten and the usage event (always requested upstream) is read.
// Non-streaming chat and completions are asked of the engine as streams too and assembled into the
// JSON answer (assemble-answer.ts), so that a hung engine is found within firstTokenMs; where the
// deployment opts out (jsonFromStream: false), or for embeddings, the engine's JSON answer passes
// through as its bytes, unless it lacks a field OpenAI's schema requires of it (completeChoices):
// then it is re-serialized with that field completed.
import { Pool, type Dispatcher } from 'undici';
import { exchange, type UpstreamResponse } from './exchange.js';
import { parseEvent, toUsage } from './stream-event.js';
import { ChunkTemplate } from './chunk-template.js';
import { AnswerAssembler } from './assemble-answer.js';
import { connectionError } from './connection-error.js';
import { readAnswerStream } from './read-answer-stream.js';
import { upstreamEvents } from './upstream-events.js';
import { acceptResponseEvent, parseResponse, usageOfResponse } from './native-responses.js';
import type { DeploymentConfig } from '../../config/schema.js';
import { GatewayError } from '../../errors/gateway-error.js';
import { FAULT_HEADER } from '../../sim/faults.js';
import { errorFromUpstreamStatus } from '../upstream-errors.js';
import type { AdapterSpec, Endpoint, Engine, EngineCall, JsonAnswer, StreamAnswer, Usage } from '../types.js';
import { Cancellation } from '../../server/cancellation.js';
import { AdapterLoadError } from '../adapter-load-error.js';

type OpenAIDeployment = Extract<DeploymentConfig, { engine: 'openai' }>;

/** What a request asked of the engine as a stream carries: its usage, always (see upstreamBody). */
const USAGE_FIELD = '"stream_options":{"include_usage":true}';
const STREAM_FIELDS = `"stream":true,${USAGE_FIELD}`;

const PATHS: Record<Endpoint, string> = { chat: '/chat/completions', completions: '/completions', embeddings: '/embeddings' };

/**
 * Completes what OpenAI's schema requires of a non-streamed answer and many engines leave out
 * (llama.cpp, Ollama and older vLLM send no `message.refusal`; some no `logprobs`): `null`, which
 * is what OpenAI sends when there is none. Returns whether anything was added. A look at a field
 * of each choice of the object already parsed: engines that send both pay nothing more.
 */
export function completeChoices(choices: unknown[], chat: boolean): boolean {
  let patched = false;
  for (const c of choices) {
    if (typeof c !== 'object' || c === null) continue;
    const choice = c as Record<string, unknown>;
    if (!('logprobs' in choice)) {
      choice.logprobs = null;
      patched = true;
    }
    const message = choice.message;
    if (chat && typeof message === 'object' && message !== null && !('refusal' in message)) {
      (message as Record<string, unknown>).refusal = null;
      patched = true;
    }
  }
  return patched;
}

/**
 * What an engine cannot stream: completions with best_of above n (OpenAI: "results cannot be
 * streamed"; vLLM answered such requests, and beam search, whole even when asked for a stream).
 */
function streamable(body: Record<string, unknown>): boolean {
  const { best_of: bestOf, n } = body;
  return !(typeof bestOf === 'number' && bestOf > (typeof n === 'number' ? n : 1)) && body.use_beam_search !== true;
}

export class OpenAIEngine implements Engine {
  /** A non-streaming answer's first token is seen where it is asked for as a stream. */
  readonly reportsFirstToken: boolean;
  private readonly pool: Pool;
  private readonly basePath: string;
  private readonly authorization: string | undefined;

  constructor(private readonly deployment: OpenAIDeployment, env: NodeJS.ProcessEnv = process.env) {
    this.reportsFirstToken = deployment.jsonFromStream;
    const url = new URL(deployment.baseUrl);
    this.basePath = url.pathname.replace(/\/$/, '');
    // Timeouts are the gateway's (first token, idle, total), enforced above the engine.
    this.pool = new Pool(url.origin, { connections: deployment.connections, headersTimeout: 0, bodyTimeout: 0, keepAliveTimeout: 30_000 });
    const key = deployment.apiKeyEnv ? env[deployment.apiKeyEnv] : undefined;
    this.authorization = key ? `Bearer ${key}` : undefined;
  }

  private upstreamBody(call: EngineCall, stream: boolean): string {
    // Always the validated object, re-serialized, never the client's bytes: with a key given twice
    // the engine's JSON parser might keep the other value than the one validated and billed.
    let body = call.body;
    // An adapter goes upstream by its own name (vLLM serves it as a model of that name).
    if (this.deployment.upstreamModel && call.model.adapter === undefined) body = { ...body, model: this.deployment.upstreamModel };
    if (!stream) return JSON.stringify(body);
    // A stream, with its usage. Where the body has neither field (JSON.stringify leaves out keys
    // whose value is undefined), they are appended to its text: adding them to a copy of the object
    // measured several times the cost of serializing it, on the non-streaming hot path.
    if (body.stream_options === undefined) {
      const text = JSON.stringify(body);
      const tail = body.stream === undefined ? STREAM_FIELDS : body.stream === true ? USAGE_FIELD : undefined;
      if (tail !== undefined) return text.length === 2 ? `{${tail}}` : `${text.slice(0, -1)},${tail}}`;
    }
    return JSON.stringify({ ...body, stream: true, stream_options: { ...(body.stream_options as object | null), include_usage: true } });
  }

  /** A native Responses API body: the gateway's, with the upstream's model name and `stream` set. */
  private responsesBody(call: EngineCall, stream: boolean): string {
    // An adapter goes upstream by its own name, as in upstreamBody().
    const model = call.model.adapter === undefined ? this.deployment.upstreamModel ?? call.body.model : call.body.model;
    return JSON.stringify({ ...call.body, model, stream });
  }

  private options(call: EngineCall, stream: boolean, native?: 'responses'): Dispatcher.DispatchOptions {
    const headers: Record<string, string> = { 'content-type': 'application/json', 'x-request-id': call.requestId };
    if (stream) headers.accept = 'text/event-stream';
    if (this.authorization) headers.authorization = this.authorization;
    if (call.fault && this.deployment.faultHeader) headers[FAULT_HEADER] = call.fault;
    if (native) return { path: `${this.basePath}/responses`, method: 'POST', headers, body: this.responsesBody(call, stream) };
    return { path: this.basePath + PATHS[call.endpoint], method: 'POST', headers, body: this.upstreamBody(call, stream) };
  }

  /** `onCollectStart`: see exchange(); for an answer that is collected whole. */
  private async send(call: EngineCall, stream: boolean, onCollectStart?: () => void, native?: 'responses'): Promise<UpstreamResponse> {
    let res: UpstreamResponse;
    try {
      res = await exchange(this.pool, this.options(call, stream, native), call.cancel, stream, onCollectStart);
    } catch (err) {
      throw connectionError(err, call.cancel);
    }
    if (res.statusCode >= 200 && res.statusCode < 300) return res;
    throw errorFromUpstreamStatus(res.statusCode, res.body, res.headers['retry-after']);
  }

  private rewriteModel(json: string, clientModel: string): string {
    const upstream = this.deployment.upstreamModel;
    if (!upstream || upstream === clientModel) return json;
    return json.replace(`"model":${JSON.stringify(upstream)}`, `"model":${JSON.stringify(clientModel)}`);
  }

  async json(call: EngineCall): Promise<JsonAnswer> {
    if (call.endpoint === 'embeddings' || !this.reportsFirstToken) {
      // Asked for whole (an embedding, or a deployment that opted out): the engine began to
      // answer when its headers came (only embeddings are then timed by the first-token timeout).
      const { body: text } = await this.send(call, false, call.onFirstToken);
      return this.passThrough(text, call);
    }
    if (!streamable(call.body)) {
      // Its first token cannot be seen: only the total timeout applies to it.
      call.onFirstToken?.();
      const { body: text } = await this.send(call, false);
      return this.passThrough(text, call);
    }
    // An engine that ignored `stream` and answered JSON is taken as it answered.
    const res = await this.send(call, true, call.onFirstToken);
    if (!res.isStream) return this.passThrough(res.body, call);
    const answer = new AnswerAssembler(call.endpoint, call.requestId);
    await readAnswerStream(res, answer, call.cancel, call.onFirstToken);
    return { text: answer.text(String(call.body.model)), usage: answer.usage };
  }

  /** A non-streamed answer, checked, completed where OpenAI's schema needs it, with the client's model. */
  private passThrough(text: string, call: EngineCall): JsonAnswer {
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch (cause) {
      throw new GatewayError('upstream_invalid_response', { cause, upstreamBody: text.slice(0, 4096) });
    }
    const listKey = call.endpoint === 'embeddings' ? 'data' : 'choices';
    if (typeof body !== 'object' || body === null || !Array.isArray(body[listKey])) {
      throw new GatewayError('upstream_invalid_response', { upstreamBody: text.slice(0, 4096) });
    }
    // The engine's bytes go out as they came, but for the model name: parsed only to check the
    // shape and read the usage, and re-serialized only when OpenAI's schema needs a field completed.
    const out = call.endpoint === 'embeddings' || !completeChoices(body.choices as unknown[], call.endpoint === 'chat') ? text : JSON.stringify(body);
    return { text: this.rewriteModel(out, String(call.body.model)), usage: toUsage(body.usage) };
  }

  async stream(call: EngineCall): Promise<StreamAnswer> {
    const res = await this.send(call, true);
    if (!res.isStream) {
      throw new GatewayError('upstream_invalid_response', { message: 'The inference engine did not answer with a stream.', upstreamBody: res.body.slice(0, 4096) });
    }
    let usage: Usage | undefined;
    const clientModel = String(call.body.model);
    const wantsUsage = call.clientWantsUsage;
    const self = this;

    const template = new ChunkTemplate();

    /** Checks one upstream payload; returns it ready for the client, or undefined to drop it. */
    function accept(data: string): string | undefined {
      // The original text is what gets forwarded. It is known valid either as the last payload
      // with new text (chunk-template.ts) or by parsing it (stream-event.ts).
      if (template.matches(data)) return self.rewriteModel(data, clientModel);
      const parsed = parseEvent(data);
      if (parsed.error !== undefined) {
        throw new GatewayError('upstream_unknown_error', { message: 'The inference engine failed during the stream.', upstreamBody: data.slice(0, 4096) });
      }
      const reported = toUsage(parsed.usage);
      if (reported) {
        usage = reported;
        if (!wantsUsage && Array.isArray(parsed.choices) && parsed.choices.length === 0) return undefined;
      } else {
        template.learn(data);
      }
      return self.rewriteModel(data, clientModel);
    }

    const { events, complete } = upstreamEvents(res, call.cancel, accept);
    return { events, usage: () => usage, complete };
  }

  /** Deployment `responses: native`: the engine's own /v1/responses, streamed. */
  async responsesStream(call: EngineCall): Promise<StreamAnswer> {
    const res = await this.send(call, true, undefined, 'responses');
    if (!res.isStream) {
      throw new GatewayError('upstream_invalid_response', { message: 'The inference engine did not answer with a stream.', upstreamBody: res.body.slice(0, 4096) });
    }
    let usage: Usage | undefined;
    const { events, complete } = upstreamEvents(res, call.cancel, (data, end) => acceptResponseEvent(data, end, (r) => (usage = usageOfResponse(r))), false);
    return { events, usage: () => usage, complete };
  }

  /**
   * Deployment `responses: native`, not streamed: asked as a stream (so a hung engine is found
   * within firstTokenMs, as for chat) and answered with the final Response its last event carries.
   */
  async responsesJson(call: EngineCall): Promise<JsonAnswer> {
    if (!this.reportsFirstToken) {
      const { body: text } = await this.send(call, false, call.onFirstToken, 'responses');
      const response = parseResponse(text);
      return { text, usage: usageOfResponse(response) };
    }
    const res = await this.send(call, true, call.onFirstToken, 'responses');
    if (!res.isStream) {
      const response = parseResponse(res.body);
      return { text: res.body, usage: usageOfResponse(response) };
    }
    let final: Record<string, unknown> | undefined;
    const { events } = upstreamEvents(res, call.cancel, (data, end) => acceptResponseEvent(data, end, (r) => (final = r)), false);
    let first = call.onFirstToken;
    for await (const _batch of events) {
      first?.();
      first = undefined;
    }
    // The iterator ends only after a terminal event (else it threw: ended early).
    if (final === undefined) throw new GatewayError('upstream_invalid_response', { message: 'The inference engine ended the stream early.' });
    return { text: JSON.stringify(final), usage: usageOfResponse(final) };
  }

  /** A POST of the engine's management API (the runtime LoRA endpoints), its answer collected whole. */
  private async post(path: string, body: Record<string, unknown>, cancel: Cancellation): Promise<UpstreamResponse> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (this.authorization) headers.authorization = this.authorization;
    try {
      return await exchange(this.pool, { path: this.basePath + path, method: 'POST', headers, body: JSON.stringify(body) }, cancel, false);
    } catch (err) {
      throw connectionError(err, cancel);
    }
  }

  /**
   * vLLM's runtime LoRA API (the engine runs with VLLM_ALLOW_RUNTIME_LORA_UPDATING=True). An engine
   * that has the adapter already (another gateway replica loaded it) answers 400 "has already been
   * loaded": it is there. Busy or unreachable engines are the engine's failure, not the adapter's;
   * every other refusal (no such path, unreadable files, no runtime LoRA API at all) is the adapter's.
   */
  async loadAdapter(_d: DeploymentConfig, adapter: AdapterSpec, cancel: Cancellation): Promise<void> {
    const res = await this.post('/load_lora_adapter', { lora_name: adapter.name, lora_path: adapter.source }, cancel);
    const { statusCode: status, body } = res;
    if (status >= 200 && status < 300) return;
    if (status === 400 && /already (been )?loaded/i.test(body)) return;
    if (status === 429 || status === 502 || status === 503 || status === 504) throw errorFromUpstreamStatus(status, body, res.headers['retry-after']);
    throw new AdapterLoadError(`status ${status}: ${body.slice(0, 2000)}`);
  }

  async unloadAdapter(_d: DeploymentConfig, name: string): Promise<void> {
    const cancel = new Cancellation();
    const timer = setTimeout(() => cancel.abort(new Error('unload timed out')), 30_000);
    try {
      const res = await this.post('/unload_lora_adapter', { lora_name: name }, cancel);
      if (res.statusCode < 200 || res.statusCode >= 300) throw new Error(`unload of ${name} answered ${res.statusCode}: ${res.body.slice(0, 2000)}`);
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}
