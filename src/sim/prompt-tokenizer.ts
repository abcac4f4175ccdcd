// The event loop's side of prompt-worker.ts: sends a request's prompts to the simulator's tokenizer
// thread and waits for their counts and block hashes. The thread starts on first use and never
// keeps the process alive while idle; if it dies, what it was doing fails and the next prompt
// starts another. Its own thread, not the gateway's offload worker (src/offload): it returns block
// hashes as well as counts, in the same pass.
//
// No queue bound here, unlike the offload worker's: an engine tokenizes whatever it accepts (vLLM's
// API server does), and what the gateway sends it is already bounded in front.
import { Worker } from 'node:worker_threads';
import type { PromptPart, TokenizedPrompt } from './prompt-blocks.js';
import type { PromptJob, PromptReply } from './prompt-worker.js';

type Pending = { resolve: (r: TokenizedPrompt[]) => void; reject: (err: Error) => void };

class PromptTokenizer {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;

  /** Each prompt's text tokens and, when blockTokens > 0, its block hashes. */
  run(prompts: PromptPart[][], blockTokens: number): Promise<TokenizedPrompt[]> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const worker = this.start();
      if (this.pending.size === 0) worker.ref();
      this.pending.set(id, { resolve, reject });
      try {
        worker.postMessage({ id, prompts, blockTokens } satisfies PromptJob);
      } catch (err) {
        this.settled(id);
        reject(err as Error);
      }
    });
  }

  private settled(id: number): Pending | undefined {
    const p = this.pending.get(id);
    this.pending.delete(id);
    if (this.pending.size === 0) this.worker?.unref();
    return p;
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(new URL('./prompt-worker.js', import.meta.url));
    worker.on('message', (reply: PromptReply) => {
      const p = this.settled(reply.id);
      if ('error' in reply) p?.reject(new Error(`tokenizing failed: ${reply.error}`));
      else p?.resolve(reply.result);
    });
    const fail = (err: Error) => {
      if (this.worker !== worker) return; // 'exit' after 'error': already failed
      this.worker = undefined;
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`the simulator's tokenizer thread exited (${code})`)));
    this.worker = worker;
    return worker;
  }
}

/** One thread per process: the tokenizer's tables are loaded once, whichever simulators use it. */
const tokenizer = new PromptTokenizer();

export function tokenizePrompts(prompts: PromptPart[][], blockTokens: number): Promise<TokenizedPrompt[]> {
  return tokenizer.run(prompts, blockTokens);
}
