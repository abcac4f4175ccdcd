// The counting worker: loads the tokenizer's tables (~190 ms, ~60 MB) and counts prompts, off the
// event loop. One message in, one out: { id, prompts, limit } → { id, counts } or { id, error }.
import { parentPort } from 'node:worker_threads';
import { countTexts } from './bounded-count.js';

export interface CountRequest {
  id: number;
  /** Each prompt is the texts whose tokens add up to it. */
  prompts: string[][];
  limit: number;
}
export type CountReply = { id: number; counts: number[] } | { id: number; error: string };

parentPort!.on('message', ({ id, prompts, limit }: CountRequest) => {
  let reply: CountReply;
  try {
    reply = { id, counts: prompts.map((texts) => countTexts(texts, limit)) };
  } catch (err) {
    reply = { id, error: String((err as Error)?.stack ?? err) };
  }
  parentPort!.postMessage(reply);
});
