// The offload worker: work that grows with a request's size and would otherwise hold the event
// loop (counting tokens with the tokenizer's ~60 MB tables, the first parse and schema check of
// large bodies, and the simulator's prompt tokenizing and prefix-cache hashing when it runs in
// the gateway's process) runs here, one message in, one reply out. One thread, so the tokenizer's
// tables are loaded once per process.
import { parentPort } from 'node:worker_threads';
import { countTexts } from '../tokenize/bounded-count.js';
import { inspectBody } from './inspect-body.js';
import { tokenizePrompt, type PromptPart } from '../sim/prompt-blocks.js';
import type { Endpoint } from '../engines/types.js';

export type OffloadRequest =
  | { id: number; kind: 'count'; prompts: string[][]; limit: number }
  | { id: number; kind: 'inspect'; bytes: Uint8Array; endpoint: Endpoint | undefined }
  | { id: number; kind: 'prompts'; prompts: PromptPart[][]; blockTokens: number };
export type OffloadReply = { id: number; result: unknown } | { id: number; error: string };

function run(msg: OffloadRequest): unknown {
  if (msg.kind === 'count') return msg.prompts.map((texts) => countTexts(texts, msg.limit));
  if (msg.kind === 'prompts') return msg.prompts.map((parts) => tokenizePrompt(parts, msg.blockTokens));
  return inspectBody(msg.bytes, msg.endpoint);
}

parentPort!.on('message', (msg: OffloadRequest) => {
  let reply: OffloadReply;
  try {
    reply = { id: msg.id, result: run(msg) };
  } catch (err) {
    reply = { id: msg.id, error: String((err as Error)?.stack ?? err) };
  }
  parentPort!.postMessage(reply);
});
