// Any OpenAI-compatible server (vLLM, llama.cpp, Ollama, TGI, hosted providers) over an undici
// keep-alive pool. Streams pass through event by event without re-parsing JSON; only the model
// name is rewritten and the usage event (always requested upstream) is read.
import { Pool, errors as undiciErrors, type Dispatcher } from 'undici';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import type { DeploymentConfig } from '../../config/schema.js';
import { GatewayError } from '../../errors/gateway-error.js';
import { FAULT_HEADER } from '../../sim/faults.js';
import { errorFromUpstreamStatus } from '../upstream-errors.js';
import type { Endpoint, Engine, EngineCall, JsonAnswer, StreamAnswer, Usage } from '../types.js';

type OpenAIDeployment = Extract<DeploymentConfig, { engine: 'openai' }>;

const PATHS: Record<Endpoint, string> = { chat: '/chat/completions', completions: '/completions', embeddings: '/embeddings' };

function isAbort(err: unknown): boolean {
  return (err as Error)?.name === 'AbortError' || err instanceof undiciErrors.RequestAbortedError;
}

/** Connection-level failures: refused, reset, DNS, TLS, socket closed. */
function connectionError(err: unknown, signal: AbortSignal): unknown {
  if (signal.aborted || isAbort(err)) return signal.reason ?? err;
  return new GatewayError('upstream_unreachable', { cause: err });
}

interface StreamEvent {
  error?: unknown;
  usage?: unknown;
  choices?: unknown[];
}

function parseEvent(data: string): StreamEvent {
  let parsed: unknown;
  try {
    parsed = JSON.parse(data);
  } catch (cause) {
    throw new GatewayError('upstream_invalid_response', { cause, upstreamBody: data.slice(0, 4096) });
  }
  const ok = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed);
  const event = parsed as StreamEvent;
  if (!ok || (event.error === undefined && !Array.isArray(event.choices))) {
    throw new GatewayError('upstream_invalid_response', { upstreamBody: data.slice(0, 4096) });
  }
  return event;
}

function isUsage(x: unknown): x is Usage {
  return typeof x === 'object' && x !== null && typeof (x as Usage).prompt_tokens === 'number';
}

export class OpenAIEngine implements Engine {
  private readonly pool: Pool;
  private readonly basePath: string;
  private readonly authorization: string | undefined;

  constructor(private readonly deployment: OpenAIDeployment, env: NodeJS.ProcessEnv = process.env) {
    const url = new URL(deployment.baseUrl);
    this.basePath = url.pathname.replace(/\/$/, '');
    // Timeouts are the gateway's (first token, idle, total), enforced above the engine.
    this.pool = new Pool(url.origin, { connections: deployment.connections, headersTimeout: 0, bodyTimeout: 0, keepAliveTimeout: 30_000 });
    const key = deployment.apiKeyEnv ? env[deployment.apiKeyEnv] : undefined;
    this.authorization = key ? `Bearer ${key}` : undefined;
  }

  private upstreamBody(call: EngineCall, stream: boolean): string {
    const body: Record<string, unknown> = { ...call.body };
    if (this.deployment.upstreamModel) body.model = this.deployment.upstreamModel;
    if (stream) body.stream_options = { ...(body.stream_options as object | undefined), include_usage: true };
    return JSON.stringify(body);
  }

  private async send(call: EngineCall, stream: boolean): Promise<Dispatcher.ResponseData> {
    const headers: Record<string, string> = { 'content-type': 'application/json', 'x-request-id': call.requestId };
    if (stream) headers.accept = 'text/event-stream';
    if (this.authorization) headers.authorization = this.authorization;
    if (call.fault && this.deployment.faultHeader) headers[FAULT_HEADER] = call.fault;
    let res: Dispatcher.ResponseData;
    try {
      res = await this.pool.request({ path: this.basePath + PATHS[call.endpoint], method: 'POST', headers, body: this.upstreamBody(call, stream), signal: call.signal });
    } catch (err) {
      throw connectionError(err, call.signal);
    }
    if (res.statusCode >= 200 && res.statusCode < 300) return res;
    const raw = await res.body.text().catch(() => '');
    throw errorFromUpstreamStatus(res.statusCode, raw, res.headers['retry-after']);
  }

  private rewriteModel(json: string, clientModel: string): string {
    const upstream = this.deployment.upstreamModel;
    if (!upstream || upstream === clientModel) return json;
    return json.replace(`"model":${JSON.stringify(upstream)}`, `"model":${JSON.stringify(clientModel)}`);
  }

  async json(call: EngineCall): Promise<JsonAnswer> {
    const res = await this.send(call, false);
    let text: string;
    try {
      text = await res.body.text();
    } catch (err) {
      throw connectionError(err, call.signal);
    }
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
    // shape and read the usage, never re-serialized.
    const usage = body.usage as Record<string, number> | undefined;
    return {
      text: this.rewriteModel(text, String(call.body.model)),
      usage: usage && typeof usage.prompt_tokens === 'number'
        ? { prompt_tokens: usage.prompt_tokens, completion_tokens: usage.completion_tokens ?? 0, total_tokens: usage.total_tokens ?? usage.prompt_tokens }
        : undefined,
    };
  }

  async stream(call: EngineCall): Promise<StreamAnswer> {
    const res = await this.send(call, true);
    const contentType = String(res.headers['content-type'] ?? '');
    if (!contentType.includes('text/event-stream')) {
      const raw = await res.body.text().catch(() => '');
      throw new GatewayError('upstream_invalid_response', { message: 'The inference engine did not answer with a stream.', upstreamBody: raw.slice(0, 4096) });
    }
    let usage: Usage | undefined;
    const clientModel = String(call.body.model);
    const wantsUsage = call.clientWantsUsage;
    const self = this;

    /** Checks one upstream payload; returns it ready for the client, or undefined to drop it. */
    function accept(data: string): string | undefined {
      // Every event is parsed once to prove it is JSON of the right shape (the contract maps a
      // bad event to upstream_invalid_response); the original text is what gets forwarded.
      const parsed = parseEvent(data);
      if (parsed.error !== undefined) {
        throw new GatewayError('upstream_unknown_error', { message: 'The inference engine failed during the stream.', upstreamBody: data.slice(0, 4096) });
      }
      if (isUsage(parsed.usage)) {
        usage = parsed.usage;
        if (!wantsUsage && Array.isArray(parsed.choices) && parsed.choices.length === 0) return undefined;
      }
      return self.rewriteModel(data, clientModel);
    }

    async function* events(): AsyncGenerator<string[]> {
      const queue: EventSourceMessage[] = [];
      const parser = createParser({ onEvent: (e) => queue.push(e) });
      const decoder = new TextDecoder();
      let done = false;
      try {
        for await (const chunk of res.body) {
          parser.feed(decoder.decode(chunk as Buffer, { stream: true }));
          const batch: string[] = [];
          let failure: unknown;
          for (const event of queue) {
            if (event.data === '[DONE]') {
              done = true;
              break;
            }
            try {
              const out = accept(event.data);
              if (out !== undefined) batch.push(out);
            } catch (err) {
              failure = err;
              break;
            }
          }
          queue.length = 0;
          // What arrived before a bad event still reaches the client, then the error does.
          if (batch.length > 0) yield batch;
          if (failure !== undefined) throw failure;
          if (done) break;
        }
      } catch (err) {
        throw err instanceof GatewayError ? err : connectionError(err, call.signal);
      } finally {
        if (!done) res.body.destroy();
      }
      if (!done) throw new GatewayError('upstream_invalid_response', { message: 'The inference engine ended the stream early.' });
    }
    return { events: events(), usage: () => usage };
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}
