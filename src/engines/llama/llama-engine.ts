// `engine: llama`: a GGUF model run in-process on the CPU by node-llama-cpp (llama.cpp). Inference
// runs on llama.cpp's own threads (node-llama-cpp's async native calls), so a generation never
// blocks the event loop; the gateway awaits tokens as it awaits an engine's bytes. Chat requests
// are rendered with the model's own chat template, token counts are the model tokenizer's, and
// LoRA adapters (GGUF files) are applied per llama context, one context per loaded adapter.
import { access, constants } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import type { DeploymentConfig, LlamaSettings } from '../../config/schema.js';
import { GatewayError } from '../../errors/gateway-error.js';
import type { Cancellation } from '../../server/cancellation.js';
import { AdapterLoadError } from '../adapter-load-error.js';
import { EngineStartError } from '../engine-start-error.js';
import { errorFromUpstreamStatus } from '../upstream-errors.js';
import type { Engine, EngineCall, JsonAnswer, StreamAnswer, Usage } from '../types.js';
import { loadLlama, LlamaUnavailableError, type ChatWrapper, type LlamaContext, type LlamaContextSequence, type LlamaEmbeddingContext, type LlamaModel, type LlamaText, type NodeLlamaCpp, type Token } from './binding.js';
import { chatHistory, completionPrompt, maxTokensOf, refuseUnsupported, samplingOptions } from './request.js';
import { SequencePool } from './sequence-pool.js';
import { StopText } from './stop-text.js';
import { chatAnswer, chunkHead, completionAnswer, embeddingsAnswer, finishChunk, openingChunk, textChunk, usageChunk, type FinishReason } from './wire.js';

type Body = Record<string, unknown>;

interface Slot {
  context: LlamaContext;
  pool: SequencePool<LlamaContextSequence>;
  /** Generations running on it: an adapter's context is disposed only once they are done. */
  busy: number;
  /** Set while an unloaded adapter's context waits for its last generation to end. */
  idle?: () => void;
}

interface Loaded {
  lib: NodeLlamaCpp;
  model: LlamaModel;
  wrapper: ChatWrapper | null;
  base: Slot;
  contextSize: number;
}

/** A generation, prepared before the engine's turn: what to evaluate and how. */
interface Prepared {
  loaded: Loaded;
  slot: Slot;
  tokens: Token[];
  usage: Usage;
  maxTokens: number;
  stopTriggers: (LlamaText | string)[];
  sampling: ReturnType<typeof samplingOptions>;
  /** Completions with echo: the prompt, sent before the answer. */
  echo?: string;
}

export interface GenerationEnd {
  deploymentId: string;
  completionTokens: number;
  /** maxTokens, eogToken or customStopTrigger (the chat template's end), stopSequence (the client's), abort (cancelled). */
  reason: string;
}

export interface LlamaEngineEvents {
  /** Each generation's end, however it ended (tests observe that a disconnect stops it). */
  generationEnded?(end: GenerationEnd): void;
  /**
   * Disposing an unloaded adapter's context failed after its last generation ended, when nobody
   * awaits the unload any more (for the log).
   */
  adapterDisposeFailed?(adapter: string, err: unknown): void;
}

export class LlamaEngine implements Engine {
  readonly reportsFirstToken = true;
  private readonly settings: LlamaSettings;
  private loading: Promise<Loaded> | undefined;
  private embedding: Promise<LlamaEmbeddingContext> | undefined;
  /** Loaded adapters by name (the adapter model's id, which requests send as `model`). */
  private readonly adapters = new Map<string, Promise<Slot>>();
  /** Unloaded adapters' contexts being disposed (some waiting for a generation): close() awaits them. */
  private readonly disposals = new Map<Slot, Promise<void>>();
  private closed = false;

  constructor(private readonly deployment: Extract<DeploymentConfig, { engine: 'llama' }>, private readonly events: LlamaEngineEvents = {}) {
    this.settings = deployment.llama;
  }

  /** Loads the library and the model before the gateway listens: a bad path or a missing package stops the start. */
  async start(): Promise<void> {
    try {
      await this.ready();
    } catch (err) {
      if (err instanceof LlamaUnavailableError) throw new EngineStartError(`deployment ${this.deployment.id}: ${err.message}`, err);
      throw new EngineStartError(`deployment ${this.deployment.id}: cannot load the GGUF model ${this.settings.modelPath}: ${(err as Error).message}`, err);
    }
  }

  private ready(): Promise<Loaded> {
    this.loading ??= this.load();
    return this.loading;
  }

  private async load(): Promise<Loaded> {
    await access(this.settings.modelPath, constants.R_OK);
    const { lib, llama } = await loadLlama();
    const model = await llama.loadModel({ modelPath: this.settings.modelPath });
    try {
      const base = await this.createSlot(model);
      return { lib, model, wrapper: lib.resolveChatWrapper(model), base, contextSize: base.context.contextSize };
    } catch (err) {
      await model.dispose();
      throw err;
    }
  }

  private contextSize(): number | { max: number } {
    // Unset: what fits in memory, up to the model's trained context, at most 4096 tokens.
    return this.settings.contextSize ?? { max: 4096 };
  }

  private async createSlot(model: LlamaModel, loraPath?: string, signal?: AbortSignal): Promise<Slot> {
    const context = await model.createContext({
      contextSize: this.contextSize(),
      sequences: this.settings.parallel,
      threads: this.settings.threads,
      ...(loraPath !== undefined && { lora: { adapters: [{ filePath: loraPath }] } }),
      ...(signal && { createSignal: signal }),
    });
    const sequences = Array.from({ length: this.settings.parallel }, () => context.getSequence());
    return { context, pool: new SequencePool(sequences), busy: 0 };
  }

  /** The model, or a clean 500 when it could not be loaded (the start normally catches that first). */
  private async loaded(): Promise<Loaded> {
    if (this.closed) throw new GatewayError('engine_error', { message: 'The local engine is shutting down.' });
    try {
      return await this.ready();
    } catch (cause) {
      this.loading = undefined;
      throw new GatewayError('engine_error', { message: 'The local model could not be loaded.', cause });
    }
  }

  /**
   * Requests for a loaded adapter's id run on its context; other models' on the base model's. An
   * adapter model this engine does not hold (never loaded here, or unloaded) is refused as vLLM
   * refuses it, 404 model_not_deployed, never answered by the base model: the gateway then loads
   * it again (route.ts) rather than serve and bill the base model's answer as the adapter's.
   */
  private async slotFor(call: EngineCall, loaded: Loaded): Promise<Slot> {
    const name = call.body.model;
    const adapter = typeof name === 'string' ? this.adapters.get(name) : undefined;
    if (!adapter) {
      if (call.model.adapter !== undefined) throw errorFromUpstreamStatus(404, JSON.stringify({ message: `The model \`${String(name)}\` does not exist.` }));
      return loaded.base;
    }
    try {
      return await adapter;
    } catch (cause) {
      // A request that came while its adapter was still loading, and the load failed.
      throw new GatewayError('adapter_load_failed', { message: `The adapter ${JSON.stringify(name)} failed to load.`, cause });
    }
  }

  private async prepare(call: EngineCall): Promise<Prepared> {
    const endpoint = call.endpoint === 'chat' ? 'chat' : 'completions';
    refuseUnsupported(endpoint, call.body);
    const loaded = await this.loaded();
    const { model } = loaded;
    const bos = model.tokens.shouldPrependBosToken ? model.tokens.bos : null;
    let tokens: Token[];
    let stopTriggers: (LlamaText | string)[] = [];
    let echo: string | undefined;
    if (endpoint === 'chat') {
      const history = chatHistory(call.body.messages as Body[]);
      if (!loaded.wrapper) throw new GatewayError('unsupported_parameter', { param: 'messages', message: 'This model has no chat template: use /v1/completions.' });
      const state = loaded.wrapper.generateContextState({ chatHistory: history });
      tokens = state.contextText.tokenize(model.tokenizer);
      // node-llama-cpp puts the model's BOS before every generation; the template's own is dropped.
      if (bos !== null && tokens[0] === bos) tokens = tokens.slice(1);
      stopTriggers = state.stopGenerationTriggers;
    } else {
      const prompt = completionPrompt(call.body.prompt, vocabularySize(model));
      // As llama.cpp's own server and Hugging Face tokenize a prompt (SentencePiece's leading space
      // kept, which node-llama-cpp would trim from a string), special-token text left as text.
      tokens = 'tokens' in prompt ? prompt.tokens : model.tokenize(prompt.text, false);
      if (call.body.echo === true) echo = 'text' in prompt ? prompt.text : model.detokenize(prompt.tokens);
    }
    const promptTokens = tokens.length + (bos !== null ? 1 : 0);
    const room = loaded.contextSize - promptTokens;
    const param = endpoint === 'chat' ? 'messages' : 'prompt';
    if (room < 1) throw new GatewayError('context_length_exceeded', { param, message: `The prompt has ${promptTokens} tokens; this deployment's context holds ${loaded.contextSize}.` });
    const asked = maxTokensOf(call.body);
    if (asked !== undefined && asked > room) {
      throw new GatewayError('context_length_exceeded', { param: call.body.max_completion_tokens !== undefined ? 'max_completion_tokens' : 'max_tokens', message: `The prompt has ${promptTokens} tokens and max_tokens is ${asked}; this deployment's context holds ${loaded.contextSize}.` });
    }
    const sampling = samplingOptions(call.body);
    const slot = await this.slotFor(call, loaded);
    return {
      loaded,
      slot,
      tokens,
      usage: { prompt_tokens: promptTokens, completion_tokens: 0, total_tokens: promptTokens },
      maxTokens: asked ?? room,
      stopTriggers,
      sampling,
      ...(echo !== undefined && { echo }),
    };
  }

  /**
   * Runs one generation on a free sequence of the slot. `onText` gets the answer's text as it is
   * decoded (cut at the first stop sequence); usage.completion_tokens counts the tokens generated
   * so far. Stops when `signal` aborts, and throws its reason then.
   */
  private async generate(p: Prepared, cancel: Cancellation, signal: AbortSignal, onText: (text: string) => void, onFirstToken?: () => void): Promise<FinishReason> {
    const sequence = await p.slot.pool.acquire(cancel);
    p.slot.busy++;
    const completion = new p.loaded.lib.LlamaCompletion({ contextSequence: sequence, autoDisposeSequence: false });
    const stopText = new StopText(p.sampling.stop);
    let stopped = false;
    // Ends the generation for the caller's reason, or for a stop sequence found in the text.
    const end = new AbortController();
    const forward = () => end.abort(signal.reason);
    if (signal.aborted) forward();
    else signal.addEventListener('abort', forward, { once: true });
    let reason = 'abort';
    const sampledBefore = sequence.tokenMeter.usedOutputTokens;
    try {
      const { temperature, repeatPenalty } = p.sampling;
      const result = await completion.generateCompletionWithMeta(p.tokens, {
        maxTokens: p.maxTokens,
        temperature,
        repeatPenalty,
        ...(p.sampling.topP !== undefined && { topP: p.sampling.topP }),
        ...(p.sampling.seed !== undefined && { seed: p.sampling.seed }),
        ...(p.stopTriggers.length > 0 && { customStopTriggers: p.stopTriggers }),
        signal: end.signal,
        stopOnAbortSignal: true,
        onToken: (tokens) => {
          if (p.usage.completion_tokens === 0) onFirstToken?.();
          p.usage.completion_tokens += tokens.length;
          p.usage.total_tokens += tokens.length;
        },
        onTextChunk: (chunk) => {
          if (stopped) return;
          const out = stopText.push(chunk);
          if (out.text) onText(out.text);
          if (out.stopped) {
            stopped = true;
            end.abort();
          }
        },
      });
      reason = stopped ? 'stopSequence' : result.metadata.stopReason;
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      throw new GatewayError('engine_error', { cause: err });
    } finally {
      // Every token sampled, including those node-llama-cpp held back and dropped at the end (the
      // start of what might have been a stop trigger): the model generated them.
      const sampled = sequence.tokenMeter.usedOutputTokens - sampledBefore;
      p.usage.completion_tokens = Math.max(p.usage.completion_tokens, sampled);
      p.usage.total_tokens = p.usage.prompt_tokens + p.usage.completion_tokens;
      signal.removeEventListener('abort', forward);
      completion.dispose({ disposeSequence: false });
      if (--p.slot.busy === 0) p.slot.idle?.();
      p.slot.pool.release(sequence);
      this.events.generationEnded?.({ deploymentId: this.deployment.id, completionTokens: p.usage.completion_tokens, reason });
    }
    if (reason === 'abort') throw signal.aborted ? signal.reason : new GatewayError('engine_error', { message: 'The local engine stopped the generation.' });
    if (!stopped) {
      const rest = stopText.flush();
      if (rest) onText(rest);
    }
    return reason === 'maxTokens' ? 'length' : 'stop';
  }

  async json(call: EngineCall): Promise<JsonAnswer> {
    if (call.endpoint === 'embeddings') return this.embeddings(call);
    const p = await this.prepare(call);
    // The text as streamed, so that a JSON answer and a stream of the same generation agree.
    const pieces: string[] = [];
    const finish = await this.generate(p, call.cancel, call.cancel.signal, (t) => pieces.push(t), call.onFirstToken);
    const text = pieces.join('');
    const head = { id: answerId(call), created: nowSeconds(), model: String(call.body.model) };
    const body = call.endpoint === 'chat'
      ? chatAnswer(head, text, finish, p.usage)
      : completionAnswer(head, (p.echo ?? '') + text, finish, p.usage);
    return { text: JSON.stringify(body), usage: { ...p.usage } };
  }

  async stream(call: EngineCall): Promise<StreamAnswer> {
    if (call.endpoint === 'embeddings') throw new GatewayError('invalid_parameter', { param: 'stream', message: 'Embeddings are not streamed.' });
    const p = await this.prepare(call);
    const chat = call.endpoint === 'chat';
    const head = chunkHead(chat, answerId(call), nowSeconds(), String(call.body.model));
    let started = false;
    const generate = this.generate.bind(this);
    async function* events(): AsyncGenerator<string[]> {
      const texts: string[] = [];
      let wake: (() => void) | undefined;
      let finish: FinishReason | undefined;
      let failure: unknown;
      let done = false;
      // Aborted when the client leaves (the cancellation) or the gateway stops reading (finally).
      const stop = new AbortController();
      const undo = call.cancel.onAbort((reason) => stop.abort(reason));
      started = true;
      const running = generate(p, call.cancel, stop.signal, (text) => {
        texts.push(text);
        wake?.();
      }).then((r) => {
        finish = r;
      }, (err: unknown) => {
        failure = err;
      }).finally(() => {
        done = true;
        wake?.();
      });
      try {
        let opened = false;
        for (;;) {
          if (texts.length > 0) {
            const batch = texts.splice(0).map((t) => JSON.stringify(textChunk(head, chat, t)));
            if (!opened) {
              opened = true;
              const opening = openingChunk(head, chat, p.echo);
              if (opening) batch.unshift(JSON.stringify(opening));
            }
            yield batch;
            continue;
          }
          if (done) break;
          await new Promise<void>((resolve) => (wake = resolve));
          wake = undefined;
        }
        if (failure !== undefined) throw failure;
        const last: string[] = [];
        if (!opened) {
          const opening = openingChunk(head, chat, p.echo);
          if (opening) last.push(JSON.stringify(opening));
        }
        last.push(JSON.stringify(finishChunk(head, chat, finish!)));
        if (call.clientWantsUsage) last.push(JSON.stringify(usageChunk(head, p.usage)));
        yield last;
      } finally {
        undo();
        stop.abort(new Error('stream closed'));
        await running;
      }
    }
    return { events: events(), usage: () => (started ? { ...p.usage } : undefined) };
  }

  private embeddingContext(model: LlamaModel): Promise<LlamaEmbeddingContext> {
    this.embedding ??= model.createEmbeddingContext({ contextSize: this.contextSize(), threads: this.settings.threads });
    this.embedding.catch(() => {
      this.embedding = undefined;
    });
    return this.embedding;
  }

  private async embeddings(call: EngineCall): Promise<JsonAnswer> {
    const { model } = await this.loaded();
    const size = model.embeddingVectorSize;
    if (typeof call.body.dimensions === 'number' && call.body.dimensions !== size) {
      throw new GatewayError('unsupported_parameter', { param: 'dimensions', message: `This model's embeddings have ${size} dimensions; dimensions cannot change that.` });
    }
    const inputs = embeddingInputs(call.body.input, vocabularySize(model)).map((i) => (typeof i === 'string' ? model.tokenize(i) : i));
    let context: LlamaEmbeddingContext;
    try {
      context = await this.embeddingContext(model);
    } catch (cause) {
      throw new GatewayError('engine_error', { message: 'The local engine could not prepare embeddings.', cause });
    }
    const vectors: (readonly number[])[] = [];
    let promptTokens = 0;
    for (const [i, tokens] of inputs.entries()) {
      if (call.cancel.aborted) throw call.cancel.reason;
      if (tokens.length === 0) throw new GatewayError('invalid_parameter', { param: `input[${i}]`, message: 'An input to embed is empty.' });
      try {
        vectors.push((await context.getEmbeddingFor(tokens)).vector);
      } catch (cause) {
        const tooLong = /context size|too long/i.test(String((cause as Error).message));
        if (tooLong) throw new GatewayError('context_length_exceeded', { param: `input[${i}]`, message: `Input ${i} has ${tokens.length} tokens, more than this deployment's context holds.` });
        throw new GatewayError('engine_error', { cause });
      }
      if (i === 0) call.onFirstToken?.();
      // Counted as evaluated: with the BOS (and, for some embedding models, EOS) the model adds.
      promptTokens += context.calculateInputLength(tokens);
    }
    const usage: Usage = { prompt_tokens: promptTokens, completion_tokens: 0, total_tokens: promptTokens };
    return { text: embeddingsAnswer(String(call.body.model), vectors, call.body.encoding_format === 'base64', usage), usage };
  }

  /**
   * Loads a GGUF LoRA adapter (`source`, a path on this machine) as its own llama context, which
   * requests whose `model` is `adapter.name` then use. A missing, unreadable or damaged file, or
   * one made for another model, is an AdapterLoadError: the gateway answers 412, and the reason
   * (with the path) goes to the log only.
   */
  async loadAdapter(_deployment: DeploymentConfig, adapter: { name: string; source: string }, cancel: Cancellation): Promise<void> {
    if (this.adapters.has(adapter.name)) {
      await this.adapters.get(adapter.name);
      return;
    }
    const loading = (async () => {
      const { model } = await this.loaded();
      try {
        await access(adapter.source, constants.R_OK);
        return await this.createSlot(model, adapter.source, cancel.signal);
      } catch (err) {
        if (cancel.aborted) throw cancel.reason;
        throw new AdapterLoadError(`${adapter.source}: ${(err as Error).message}`);
      }
    })();
    this.adapters.set(adapter.name, loading);
    try {
      await loading;
    } catch (err) {
      if (this.adapters.get(adapter.name) === loading) this.adapters.delete(adapter.name);
      throw err;
    }
  }

  async unloadAdapter(_deployment: DeploymentConfig, name: string): Promise<void> {
    const loading = this.adapters.get(name);
    if (!loading) return;
    this.adapters.delete(name);
    const slot = await loading.catch(() => undefined);
    if (!slot) return;
    // Its failure reaches the caller (the gateway logs it), and close() waits for it.
    if (slot.busy === 0) return this.track(slot, slot.context.dispose());
    // The gateway unloads only adapters no request is using; a generation still running here
    // (its client gone, its abort under way) keeps the context until it ends. Nobody awaits that
    // dispose: its failure is reported here, never left an unhandled rejection.
    const idle = new Promise<void>((resolve) => (slot.idle = resolve));
    void this.track(slot, idle.then(() => slot.context.dispose())).catch((err: unknown) => this.events.adapterDisposeFailed?.(name, err));
  }

  /** `disposal` of an unloaded adapter's context, kept until it settles so that close() awaits it. */
  private track(slot: Slot, disposal: Promise<void>): Promise<void> {
    const settled = disposal.then(() => {}, () => {}).finally(() => this.disposals.delete(slot));
    this.disposals.set(slot, settled);
    return disposal;
  }

  /** The adapters loaded now, by name. */
  loadedAdapters(): string[] {
    return [...this.adapters.keys()];
  }

  async close(): Promise<void> {
    this.closed = true;
    const loading = this.loading;
    if (!loading) return;
    const loaded = await loading.catch(() => undefined);
    const adapters = await Promise.all([...this.adapters.values()].map((a) => a.catch(() => undefined)));
    this.adapters.clear();
    const embedding = await this.embedding?.catch(() => undefined);
    // Unloaded adapters still waiting for a generation are disposed now, as every other context
    // is (the model goes, generations with it), and before the model.
    for (const slot of this.disposals.keys()) slot.idle?.();
    await Promise.all([...adapters.map((s) => s?.context.dispose()), embedding?.dispose(), loaded?.base.context.dispose(), ...this.disposals.values()]);
    await loaded?.model.dispose();
  }
}

/** Token ids a client may send (one past it, llama.cpp would abort the process, not throw). */
function vocabularySize(model: LlamaModel): number {
  return model.fileInfo.metadata.tokenizer?.ggml?.tokens?.length ?? 0;
}

function embeddingInputs(input: unknown, vocabulary: number): (string | Token[])[] {
  if (typeof input === 'string') return [input];
  if (!Array.isArray(input)) throw new GatewayError('invalid_parameter', { param: 'input' });
  if (input.every((t) => typeof t === 'number')) return [checkTokens(input as number[], 'input', vocabulary)];
  return input.map((item, i) => (typeof item === 'string' ? item : checkTokens(item as number[], `input[${i}]`, vocabulary)));
}

function checkTokens(tokens: number[], param: string, vocabulary: number): Token[] {
  const bad = tokens.findIndex((t) => t < 0 || t >= vocabulary);
  if (bad !== -1) throw new GatewayError('invalid_parameter', { param: `${param}[${bad}]`, message: `Token id ${tokens[bad]} is not in the model's vocabulary.` });
  return tokens as Token[];
}

function answerId(call: EngineCall): string {
  return `${call.endpoint === 'chat' ? 'chatcmpl' : 'cmpl'}-${randomUUID().replaceAll('-', '')}`;
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
