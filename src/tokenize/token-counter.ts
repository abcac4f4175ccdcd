// Prompt token counts from the counting worker, so that no prompt, however large or hostile,
// holds the event loop: counting runs on a thread of its own (started on first use, since most
// requests are settled by the byte bound and never need it), with work linear in the input
// (bounded-count.ts) and stopping once a prompt is over its limit.
import { Worker } from 'node:worker_threads';
import type { CountReply, CountRequest } from './count-worker.js';

type Pending = { resolve: (counts: number[]) => void; reject: (err: Error) => void };

export class TokenCounter {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;

  /**
   * Token counts of each prompt (a prompt is the texts that add up to it). A prompt over `limit`
   * is counted only until that is known: its number is then more than `limit` but not its size.
   */
  count(prompts: string[][], limit = Infinity): Promise<number[]> {
    const id = this.nextId++;
    const message: CountRequest = { id, prompts, limit: Number.isFinite(limit) ? limit : Number.MAX_SAFE_INTEGER };
    return new Promise<number[]>((resolve, reject) => {
      const worker = this.start();
      if (this.pending.size === 0) worker.ref(); // a count in progress keeps the process alive
      this.pending.set(id, { resolve, reject });
      worker.postMessage(message);
    });
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(new URL('./count-worker.js', import.meta.url));
    worker.on('message', (reply: CountReply) => {
      const p = this.pending.get(reply.id);
      if (!p) return;
      this.pending.delete(reply.id);
      if (this.pending.size === 0) worker.unref(); // an idle counter never keeps the process alive
      if ('error' in reply) p.reject(new Error(`token counting failed: ${reply.error}`));
      else p.resolve(reply.counts);
    });
    // A crashed worker fails what it was counting; the next count starts a new one.
    const fail = (err: Error) => {
      if (this.worker === worker) this.worker = undefined;
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`the token counting worker exited (${code})`)));
    this.worker = worker;
    return worker;
  }

  async close(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    if (w) await w.terminate();
  }
}

/** One counter per process: the tokenizer's tables are loaded once, whoever counts. */
export const tokenCounter = new TokenCounter();
