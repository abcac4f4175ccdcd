// The simulated GPU inference server: batch slots with a queue, time to first token plus prefill
// cost per prompt token, inter-token latency, deterministic text and real token counts. Both the
// in-process engine and the standalone `sluice sim` HTTP server drive this one class.
import { setTimeout as sleep } from 'node:timers/promises';
import { randomUUID } from 'node:crypto';
import type { SimSettings } from '../config/schema.js';
import type { Endpoint, Usage } from '../engines/types.js';
import { countPrompts, promptsOf, sum } from '../tokenize/prompt.js';
import { embedText, generateChoice, toBase64Floats, type GeneratedChoice } from './generate.js';
import { SeqScheduler } from './scheduler.js';

/** A request the simulated engine refuses, as vLLM would with a 400. */
export class SimRequestError extends Error {
  constructor(message: string, readonly param: string | null) {
    super(message);
  }
}

type Body = Record<string, unknown>;

export interface GenerationPlan {
  id: string;
  created: number;
  model: string;
  endpoint: Exclude<Endpoint, 'embeddings'>;
  choices: GeneratedChoice[];
  usage: Usage;
  firstTokenMs: number;
}

export interface SimStream {
  chunks: AsyncGenerator<Body>;
  usage: Usage;
}

function stopList(stop: unknown): string[] {
  if (typeof stop === 'string') return [stop];
  return Array.isArray(stop) ? stop.filter((s): s is string => typeof s === 'string') : [];
}

/** The text that seeds the generated answer: the same prompt always gets the same answer. */
function seedText(endpoint: GenerationPlan['endpoint'], body: Body): string {
  return endpoint === 'chat' ? JSON.stringify(body.messages) : JSON.stringify(body.prompt);
}

export class SimCore {
  readonly scheduler: SeqScheduler;

  constructor(readonly settings: SimSettings) {
    this.scheduler = new SeqScheduler(settings.maxNumSeqs, settings.maxQueue);
  }

  /** Real token counts come from the counting worker: a large prompt never blocks the event loop. */
  async plan(endpoint: GenerationPlan['endpoint'], body: Body): Promise<GenerationPlan> {
    if (body.logprobs === true || (typeof body.logprobs === 'number' && body.logprobs > 0)) {
      throw new SimRequestError('logprobs are not supported by this engine', 'logprobs');
    }
    const promptTokens = sum(await countPrompts(promptsOf(body, endpoint)));
    const text = seedText(endpoint, body);
    const n = typeof body.n === 'number' ? body.n : 1;
    const maxTokens = (body.max_completion_tokens ?? body.max_tokens) as number | null | undefined;
    const seed = (this.settings.seed ^ (typeof body.seed === 'number' ? body.seed : 0)) >>> 0;
    const stop = stopList(body.stop);
    const choices: GeneratedChoice[] = [];
    for (let index = 0; index < n; index++) {
      choices.push(generateChoice({ seed, prompt: text, index, maxTokens: maxTokens ?? undefined, stop, lengthRange: this.settings.outputTokens }));
    }
    const completion = choices.reduce((a, c) => a + c.tokens.length, 0);
    return {
      id: `${endpoint === 'chat' ? 'chatcmpl' : 'cmpl'}-${randomUUID().replaceAll('-', '')}`,
      created: Math.floor(Date.now() / 1000),
      model: String(body.model),
      endpoint,
      choices,
      usage: { prompt_tokens: promptTokens, completion_tokens: completion, total_tokens: promptTokens + completion },
      firstTokenMs: this.settings.ttftMs + this.settings.prefillMsPerToken * promptTokens,
    };
  }

  /** Waits for a batch slot; throws EngineFullError when the queue is full. */
  admit(signal: AbortSignal): Promise<() => void> {
    return this.scheduler.acquire(signal);
  }

  /** Non-streaming: waits the whole generation time, then answers. */
  async complete(plan: GenerationPlan, signal: AbortSignal, firstTokenDelayMs?: number): Promise<Body> {
    const steps = Math.max(0, ...plan.choices.map((c) => c.tokens.length)) - 1;
    await pause((firstTokenDelayMs ?? plan.firstTokenMs) + Math.max(0, steps) * this.settings.itlMs, signal);
    if (plan.endpoint === 'chat') {
      return {
        id: plan.id,
        object: 'chat.completion',
        created: plan.created,
        model: plan.model,
        choices: plan.choices.map((c, index) => ({
          index,
          message: { role: 'assistant', content: c.tokens.join('') },
          logprobs: null,
          finish_reason: c.finishReason,
        })),
        usage: plan.usage,
      };
    }
    return {
      id: plan.id,
      object: 'text_completion',
      created: plan.created,
      model: plan.model,
      choices: plan.choices.map((c, index) => ({ index, text: c.tokens.join(''), logprobs: null, finish_reason: c.finishReason })),
      usage: plan.usage,
    };
  }

  /** Streaming: one chunk per token per choice (choices decode in lockstep, as in a batch). */
  async *stream(plan: GenerationPlan, signal: AbortSignal, includeUsage: boolean, firstTokenDelayMs?: number): AsyncGenerator<Body> {
    const chat = plan.endpoint === 'chat';
    const head = { id: plan.id, object: chat ? 'chat.completion.chunk' : 'text_completion', created: plan.created, model: plan.model };
    const chunk = (index: number, piece: string | null, finish: string | null): Body =>
      chat
        ? { ...head, choices: [{ index, delta: piece === null ? {} : { content: piece }, logprobs: null, finish_reason: finish }] }
        : { ...head, choices: [{ index, text: piece ?? '', logprobs: null, finish_reason: finish }] };

    await pause(firstTokenDelayMs ?? plan.firstTokenMs, signal);
    if (chat) {
      for (let index = 0; index < plan.choices.length; index++) {
        yield { ...head, choices: [{ index, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }] };
      }
    }
    const longest = Math.max(0, ...plan.choices.map((c) => c.tokens.length));
    for (let step = 0; step < longest; step++) {
      if (step > 0) await pause(this.settings.itlMs, signal);
      for (let index = 0; index < plan.choices.length; index++) {
        const tok = plan.choices[index]!.tokens[step];
        if (tok !== undefined) yield chunk(index, tok, null);
      }
    }
    for (let index = 0; index < plan.choices.length; index++) yield chunk(index, null, plan.choices[index]!.finishReason);
    if (includeUsage) yield { ...head, choices: [], usage: plan.usage };
  }

  async embeddings(body: Body, signal: AbortSignal): Promise<{ body: Body; usage: Usage }> {
    const inputs = Array.isArray(body.input) ? (body.input as unknown[]) : [body.input];
    const asText = (x: unknown) => (typeof x === 'string' ? x : JSON.stringify(x));
    const dims = typeof body.dimensions === 'number' ? body.dimensions : this.settings.embeddingDimensions;
    // A flat array of numbers is one tokenized input, not many.
    const items = inputs.length > 0 && typeof inputs[0] === 'number' ? [inputs] : inputs;
    const promptTokens = sum(await countPrompts(promptsOf({ input: items }, 'embeddings')));
    await pause(this.settings.ttftMs + this.settings.prefillMsPerToken * promptTokens, signal);
    const base64 = body.encoding_format === 'base64';
    const usage: Usage = { prompt_tokens: promptTokens, completion_tokens: 0, total_tokens: promptTokens };
    return {
      usage,
      body: {
        object: 'list',
        model: String(body.model),
        data: items.map((x, index) => {
          const v = embedText(asText(x), this.settings.seed, dims);
          return { object: 'embedding', index, embedding: base64 ? toBase64Floats(v) : v };
        }),
        usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
      },
    };
  }
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  signal.throwIfAborted();
  return ms >= 1 ? sleep(ms, undefined, { signal }) : Promise.resolve();
}
