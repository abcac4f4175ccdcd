// The simulated GPU inference server: batch slots with a queue, an engine clock that runs the
// batch step by step and slows down under load (batch.ts), prefill that stalls the batch, a prefix
// cache that spares the prefill of prompt heads it holds (prefix-cache.ts), deterministic text and
// real token counts. What a
// choice is (text, JSON for response_format, a tool call) is decided in answer.ts, its wire shape
// in render.ts. Both the in-process engine and the standalone `sluice sim` HTTP server drive this
// one class.
import { setImmediate, setTimeout as sleep } from 'node:timers/promises';
import { randomUUID } from 'node:crypto';
import type { SimSettings } from '../config/schema.js';
import type { Endpoint, Usage } from '../engines/types.js';
import { sum } from '../tokenize/prompt.js';
import { answerChoice, jsonFormat } from './answer.js';
import { embedText, toBase64Floats, type GeneratedChoice } from './generate.js';
import { tokenLogprobs, type LogprobsAsk } from './logprobs.js';
import { ChunkWriter, chatBody, completionBody } from './render.js';
import { SimRequestError } from './request-error.js';
import { BatchClock, type Sequence } from './batch.js';
import { SeqScheduler } from './scheduler.js';
import { prefixCacheOf, type PrefixCache, type PrefixCacheStats, type PromptBlocks } from './prefix-cache.js';
import { promptParts, type PromptParts } from './prompt-parts.js';
import { offload } from '../offload/offload.js';
import { toolSetup } from './tool-calls.js';
import { SimAdapters } from './sim-adapters.js';

export { SimRequestError };

type Body = Record<string, unknown>;

export interface GenerationPlan {
  id: string;
  created: number;
  model: string;
  endpoint: Exclude<Endpoint, 'embeddings'>;
  choices: GeneratedChoice[];
  usage: Usage;
  /** Each prompt's token count and block hashes, for the prefix cache. */
  prefix: PromptBlocks[];
  /** Time to first token on an idle engine with nothing cached: ttftMs plus the whole prefill. */
  firstTokenMs: number;
}

/** What vLLM reports as num_requests_running, num_requests_waiting and gpu_cache_usage_perc. */
export interface SimLoad {
  running: number;
  waiting: number;
  /** Share of kvCacheTokens the batch fills, 0 to 1. */
  cacheUsage: number;
}

/**
 * Each prompt's count (the tokens of its texts, counted on the offload worker, plus
 * its fixed tokens) and, when blockTokens > 0, its block hashes.
 */
async function tokenize(prompts: PromptParts[], blockTokens: number): Promise<PromptBlocks[]> {
  const done = await offload.tokenizePrompts(prompts.map((p) => p.parts), blockTokens);
  return done.map((t, i) => ({ tokens: t.textTokens + prompts[i]!.fixedTokens, blocks: t.blocks }));
}

export interface SimStream {
  chunks: AsyncGenerator<Body>;
  usage: Usage;
}

function stopList(stop: unknown): string[] {
  if (typeof stop === 'string') return [stop];
  return Array.isArray(stop) ? stop.filter((s): s is string => typeof s === 'string') : [];
}

/**
 * The texts that seed the answers, one per prompt: the same prompt always gets the same answer,
 * alone or in a prompt array ("x" and ["x"] seed alike, as do [1, 2] and [[1, 2]]).
 */
function seedTexts(endpoint: GenerationPlan['endpoint'], body: Body): string[] {
  if (endpoint === 'chat') return [JSON.stringify(body.messages)];
  const p = body.prompt;
  return Array.isArray(p) && p.length > 0 && typeof p[0] !== 'number' ? p.map((x) => JSON.stringify(x)) : [JSON.stringify(p)];
}

/** echo: each prompt's text before its answer. Token-id prompts have no text here, so no echo. */
function echoTexts(body: Body): Array<string | undefined> | undefined {
  if (body.echo !== true) return undefined;
  const p = body.prompt;
  return (Array.isArray(p) && p.length > 0 && typeof p[0] !== 'number' ? p : [p]).map((x) => (typeof x === 'string' ? x : undefined));
}

function logprobsAsk(endpoint: GenerationPlan['endpoint'], body: Body): LogprobsAsk | undefined {
  if (endpoint === 'completions') return typeof body.logprobs === 'number' ? { endpoint, top: body.logprobs } : undefined;
  const top = typeof body.top_logprobs === 'number' ? body.top_logprobs : undefined;
  if (body.logprobs === true) return { endpoint, top: top ?? 0 };
  // vLLM and OpenAI both refuse top_logprobs without logprobs.
  if (top !== undefined) throw new SimRequestError('when using `top_logprobs`, `logprobs` must be set to true', 'top_logprobs');
  return undefined;
}

export class SimCore {
  readonly scheduler: SeqScheduler;
  /** The engine clock every generation of this core shares. */
  readonly batch: BatchClock;
  /** Undefined when prefixCache.maxBlocks is 0. */
  private readonly prefixCache: PrefixCache | undefined;
  /** LoRA adapters loaded at run time (vLLM's /v1/load_lora_adapter). */
  readonly adapters: SimAdapters;

  constructor(readonly settings: SimSettings) {
    this.adapters = new SimAdapters(settings);
    this.scheduler = new SeqScheduler(settings.maxNumSeqs, settings.maxQueue);
    this.prefixCache = prefixCacheOf(settings);
    this.batch = new BatchClock(settings, this.prefixCache);
  }

  load(): SimLoad {
    const { running, waiting } = this.scheduler.load;
    return { running, waiting, cacheUsage: Math.min(1, this.batch.cachedTokens() / this.settings.kvCacheTokens) };
  }

  /** The prefix cache's size and counters (all 0 when it is off), as /metrics publishes them. */
  prefixCacheStats(): PrefixCacheStats {
    return this.prefixCache?.stats() ?? { blockTokens: this.settings.prefixCache.blockTokens, maxBlocks: 0, blocks: 0, queries: 0, hits: 0 };
  }

  /**
   * Spends the request's own share of the first-token time (ttftMs, or the fault's override in
   * its place, which then stands for the prefill too), then joins the batch.
   */
  private async enter(plan: GenerationPlan, signal: AbortSignal, firstTokenDelayMs: number | undefined): Promise<Sequence> {
    await pause(firstTokenDelayMs ?? this.settings.ttftMs, signal);
    const promptTokens = plan.usage.prompt_tokens;
    const prefillTokens = firstTokenDelayMs === undefined ? promptTokens : 0;
    return this.batch.join({ promptTokens, prefillTokens, prefix: plan.prefix, lengths: plan.choices.map((c) => c.tokens.length) }, signal);
  }

  /**
   * Real token counts and block hashes come from the offload worker: a large prompt
   * never blocks the event loop.
   */
  async plan(endpoint: GenerationPlan['endpoint'], body: Body): Promise<GenerationPlan> {
    const ask = logprobsAsk(endpoint, body);
    const tools = endpoint === 'chat' ? toolSetup(body) : undefined;
    const prefix = await tokenize(promptParts(body, endpoint), this.prefixCache?.blockTokens ?? 0);
    const promptTokens = sum(prefix.map((p) => p.tokens));
    const texts = seedTexts(endpoint, body);
    const echoes = endpoint === 'completions' ? echoTexts(body) : undefined;
    const n = typeof body.n === 'number' ? body.n : 1;
    const maxTokens = (body.max_completion_tokens ?? body.max_tokens) as number | null | undefined;
    const seed = (this.settings.seed ^ (typeof body.seed === 'number' ? body.seed : 0)) >>> 0;
    const stop = stopList(body.stop);
    const json = jsonFormat(body.response_format);
    const choices: GeneratedChoice[] = [];
    // Choice index = prompt index * n + i, as OpenAI numbers the choices of a prompt array.
    for (let p = 0; p < texts.length; p++) {
      for (let index = 0; index < n; index++) {
        const prompt = texts[p]!;
        const c = answerChoice({ seed, prompt, index, maxTokens: maxTokens ?? undefined, stop, lengthRange: this.settings.outputTokens, tools, json });
        const echo = echoes?.[p];
        if (echo !== undefined) c.echo = echo;
        if (ask) c.logprobs = tokenLogprobs(c.tokens, ask, seed, `${index}\u0000${prompt}`, echo?.length ?? 0);
        choices.push(c);
      }
    }
    const completion = choices.reduce((a, c) => a + c.tokens.length, 0);
    return {
      id: `${endpoint === 'chat' ? 'chatcmpl' : 'cmpl'}-${randomUUID().replaceAll('-', '')}`,
      created: Math.floor(Date.now() / 1000),
      model: String(body.model),
      endpoint,
      choices,
      usage: { prompt_tokens: promptTokens, completion_tokens: completion, total_tokens: promptTokens + completion },
      prefix,
      firstTokenMs: this.settings.ttftMs + this.settings.prefillMsPerToken * promptTokens,
    };
  }

  /** Waits for a batch slot; throws EngineFullError when the queue is full. */
  admit(signal: AbortSignal): Promise<() => void> {
    return this.scheduler.acquire(signal);
  }

  /**
   * Non-streaming: goes through every step of the generation in the batch, then answers.
   * `onFirstToken` is called once the first step (the prefill) has produced the first token.
   */
  async complete(plan: GenerationPlan, signal: AbortSignal, firstTokenDelayMs?: number, onFirstToken?: () => void): Promise<Body> {
    const seq = await this.enter(plan, signal, firstTokenDelayMs);
    try {
      await seq.next();
      onFirstToken?.();
      for (let step = 1; step < seq.steps; step++) await seq.next();
    } finally {
      seq.leave();
    }
    return (plan.endpoint === 'chat' ? chatBody : completionBody)(plan, plan.choices, plan.usage);
  }

  /** Streaming: one chunk per token per choice (choices decode in lockstep, as in a batch). */
  async *stream(plan: GenerationPlan, signal: AbortSignal, includeUsage: boolean, firstTokenDelayMs?: number): AsyncGenerator<Body> {
    const head = { id: plan.id, object: plan.endpoint === 'chat' ? 'chat.completion.chunk' : 'text_completion', created: plan.created, model: plan.model };
    const w = new ChunkWriter(head, plan.choices);
    const seq = await this.enter(plan, signal, firstTokenDelayMs);
    try {
      // The prefill step yields the first token.
      await seq.next();
      for (let index = 0; index < plan.choices.length; index++) {
        const opening = w.opening(index);
        if (opening) yield opening;
      }
      const longest = Math.max(0, ...plan.choices.map((c) => c.tokens.length));
      for (let step = 0; step < longest; step++) {
        if (step > 0) await seq.next();
        for (let index = 0; index < plan.choices.length; index++) {
          if (step < plan.choices[index]!.tokens.length) yield w.token(index, step);
        }
      }
    } finally {
      // Cancelled, abandoned or done: out of the batch at once.
      seq.leave();
    }
    for (let index = 0; index < plan.choices.length; index++) yield w.finish(index);
    if (includeUsage) yield { ...head, choices: [], usage: plan.usage };
  }

  /** The embeddings answer as JSON text, and its usage. */
  async embeddings(body: Body, signal: AbortSignal): Promise<{ text: string; usage: Usage }> {
    const inputs = Array.isArray(body.input) ? (body.input as unknown[]) : [body.input];
    const asText = (x: unknown) => (typeof x === 'string' ? x : JSON.stringify(x));
    const dims = typeof body.dimensions === 'number' ? body.dimensions : this.settings.embeddingDimensions;
    // A flat array of numbers is one tokenized input, not many.
    const items = inputs.length > 0 && typeof inputs[0] === 'number' ? [inputs] : inputs;
    // Counted only: pooling requests skip the prefix cache on vLLM (skip_reading_prefix_cache).
    const texts = promptParts({ input: items }, 'embeddings').map((p) => ({ parts: p.parts.filter((x) => typeof x === 'string'), fixedTokens: p.fixedTokens }));
    const promptTokens = sum((await tokenize(texts, 0)).map((p) => p.tokens));
    await pause(this.settings.ttftMs, signal);
    // An embedding is a prefill without decoding: one step, which stalls the batch like any prefill.
    const seq = this.batch.join({ promptTokens, prefillTokens: promptTokens, lengths: [] }, signal);
    try {
      await seq.next();
    } finally {
      seq.leave();
    }
    const base64 = body.encoding_format === 'base64';
    const usage: Usage = { prompt_tokens: promptTokens, completion_tokens: 0, total_tokens: promptTokens };
    // Made and serialized a slice at a time, yielding between slices: 2,048 inputs of 768
    // dimensions are 1.5 M numbers, ~60 ms of work that would hold the gateway's event loop (the
    // simulator runs in its process) in one piece.
    const pieces: string[] = [];
    for (let start = 0; start < items.length; start += EMBEDDINGS_PER_SLICE) {
      if (start > 0) {
        await setImmediate();
        signal.throwIfAborted();
      }
      for (let index = start; index < Math.min(items.length, start + EMBEDDINGS_PER_SLICE); index++) {
        const v = embedText(asText(items[index]), this.settings.seed, dims);
        pieces.push(JSON.stringify({ object: 'embedding', index, embedding: base64 ? toBase64Floats(v) : v }));
      }
    }
    const text = `{"object":"list","model":${JSON.stringify(String(body.model))},"data":[${pieces.join(',')}],"usage":${JSON.stringify({ prompt_tokens: promptTokens, total_tokens: promptTokens })}}`;
    return { usage, text };
  }
}

/** Embeddings made between yields to the event loop (~2 ms of work at 768 dimensions). */
const EMBEDDINGS_PER_SLICE = 32;

function pause(ms: number, signal: AbortSignal): Promise<void> {
  signal.throwIfAborted();
  return ms >= 1 ? sleep(ms, undefined, { signal }) : Promise.resolve();
}
