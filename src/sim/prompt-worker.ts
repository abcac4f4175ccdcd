// The simulator's tokenizer thread: token counts and prefix-cache block hashes of prompts, off the
// event loop (the simulator may run inside the gateway's process, where tokenizing a 100 KB prompt
// on the loop would stall every request). One message in, one reply out.
import { parentPort } from 'node:worker_threads';
import { tokenizePrompt, type PromptPart, type TokenizedPrompt } from './prompt-blocks.js';

export interface PromptJob {
  id: number;
  prompts: PromptPart[][];
  blockTokens: number;
}
export type PromptReply = { id: number; result: TokenizedPrompt[] } | { id: number; error: string };

parentPort!.on('message', (job: PromptJob) => {
  let reply: PromptReply;
  try {
    reply = { id: job.id, result: job.prompts.map((parts) => tokenizePrompt(parts, job.blockTokens)) };
  } catch (err) {
    reply = { id: job.id, error: String((err as Error)?.stack ?? err) };
  }
  parentPort!.postMessage(reply);
});
