// Work proportional to a request's size, run on the offload worker so that no request, however
// large or hostile, holds the event loop. The worker starts on first use: most requests are small
// and settled by the byte bound, and never need it.
import { Worker } from 'node:worker_threads';
import { GatewayError } from '../errors/gateway-error.js';
import type { Endpoint } from '../engines/types.js';
import type { Inspection } from './inspect-body.js';
import type { PromptPart, TokenizedPrompt } from '../sim/prompt-blocks.js';
import type { OffloadReply, OffloadRequest } from './worker.js';

type Pending = { resolve: (result: unknown) => void; reject: (err: Error) => void };
type Job = OffloadRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

/**
 * Jobs waiting or running at once, past which new ones are refused (503): each holds its input
 * (up to a 4 MB body), and a queue without end would let a flood of costly bodies take memory
 * and delay everyone's counts without bound.
 */
const MAX_PENDING = 64;

export class Offload {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;

  constructor(private readonly maxPending = MAX_PENDING) {}

  /**
   * Token counts of each prompt (a prompt is the texts that add up to it). A prompt over `limit`
   * is counted only until that is known: its number is then more than `limit` but not its size.
   */
  count(prompts: string[][], limit = Infinity): Promise<number[]> {
    return this.run({ kind: 'count', prompts, limit: Number.isFinite(limit) ? limit : Number.MAX_SAFE_INTEGER }) as Promise<number[]>;
  }

  /** A large body's first parse, cost and schema check (inspect-body.ts): a problem, or its text. */
  inspect(bytes: Uint8Array, endpoint: Endpoint | undefined): Promise<Inspection> {
    return this.run({ kind: 'inspect', bytes, endpoint }) as Promise<Inspection>;
  }

  /**
   * The simulator's prompts: each one's text tokens and, when blockTokens > 0, its prefix-cache
   * block hashes (sim/prompt-blocks.ts). Not bounded by maxPending: an engine tokenizes whatever
   * it accepted (vLLM's API server does), and what the gateway sends it is bounded in front.
   */
  tokenizePrompts(prompts: PromptPart[][], blockTokens: number): Promise<TokenizedPrompt[]> {
    return this.run({ kind: 'prompts', prompts, blockTokens }, false) as Promise<TokenizedPrompt[]>;
  }

  private run(job: Job, bounded = true): Promise<unknown> {
    if (bounded && this.pending.size >= this.maxPending) {
      return Promise.reject(new GatewayError('server_overloaded', { message: 'Too many large requests are being inspected at once; retry shortly.', retryAfterMs: 1000 }));
    }
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const worker = this.start();
      if (this.pending.size === 0) worker.ref(); // work in progress keeps the process alive
      this.pending.set(id, { resolve, reject });
      try {
        worker.postMessage({ ...job, id } as OffloadRequest);
      } catch (err) {
        this.pending.delete(id);
        if (this.pending.size === 0) worker.unref();
        reject(err as Error);
      }
    });
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(new URL('./worker.js', import.meta.url));
    worker.on('message', (reply: OffloadReply) => {
      const p = this.pending.get(reply.id);
      if (!p) return;
      this.pending.delete(reply.id);
      if (this.pending.size === 0) worker.unref(); // an idle worker never keeps the process alive
      if ('error' in reply) p.reject(new Error(`offloaded work failed: ${reply.error}`));
      else p.resolve(reply.result);
    });
    // A crashed worker fails what it was doing; the next job starts a new one.
    const fail = (err: Error) => {
      if (this.worker !== worker) return; // 'exit' after 'error': already failed, maybe replaced
      this.worker = undefined;
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`the offload worker exited (${code})`)));
    this.worker = worker;
    return worker;
  }
}

/** One worker per process: the tokenizer's tables are loaded once, whoever counts. */
export const offload = new Offload();
