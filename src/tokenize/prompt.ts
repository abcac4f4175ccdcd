// What in a request adds prompt tokens, gathered once per request as plain texts. The byte bound
// and the exact count read the same texts, so the bound (UTF-8 bytes: every BPE token covers at
// least one byte) can never be below the count: whatever is counted is bounded too.
import type { Endpoint } from '../engines/types.js';
import { offload } from '../offload/offload.js';

/** One prompt: texts whose token counts add up, plus tokens known without counting. */
export interface Prompt {
  texts: string[];
  /** Token ids sent as such, and the chat format's role markers. */
  fixedTokens: number;
}

/** Chat formats add a few tokens per message for role markers (OpenAI's documented overhead). */
const PER_MESSAGE = 3;
const PER_REPLY = 3;

/** Text of a message's content, whether a string or an array of parts. */
function pushContent(texts: string[], content: unknown): void {
  if (typeof content === 'string') {
    texts.push(content);
    return;
  }
  if (!Array.isArray(content)) return;
  for (const part of content as Array<Record<string, unknown>>) {
    if (typeof part.text === 'string') texts.push(part.text);
    else if (typeof part.refusal === 'string') texts.push(part.refusal);
  }
}

function pushJson(texts: string[], value: unknown): void {
  if (value !== undefined && value !== null) texts.push(JSON.stringify(value));
}

function chatPrompt(body: Record<string, unknown>): Prompt {
  const messages = body.messages as Array<Record<string, unknown>>;
  const texts: string[] = [];
  for (const m of messages) {
    pushContent(texts, m.content);
    if (typeof m.name === 'string') texts.push(m.name);
    if (typeof m.tool_call_id === 'string') texts.push(m.tool_call_id);
    pushJson(texts, m.tool_calls);
    pushJson(texts, m.function_call);
  }
  // Engines render tool definitions into the prompt (vLLM's chat templates do).
  pushJson(texts, body.tools);
  pushJson(texts, body.functions);
  return { texts, fixedTokens: PER_REPLY + PER_MESSAGE * messages.length };
}

/** Completions prompts and embeddings inputs: a string, strings, token ids, or lists of token ids. */
function listPrompts(value: unknown, suffix: unknown): Prompt[] {
  const tail = typeof suffix === 'string' && suffix !== '' ? [suffix] : [];
  const one = (x: unknown): Prompt => (typeof x === 'string' ? { texts: [x, ...tail], fixedTokens: 0 } : { texts: tail, fixedTokens: Array.isArray(x) ? x.length : 0 });
  if (!Array.isArray(value) || value.length === 0 || typeof value[0] === 'number') return [one(value)];
  return value.map(one);
}

/** The prompts of a validated body: one for chat, one per prompt or input otherwise. */
export function promptsOf(body: Record<string, unknown>, endpoint: Endpoint): Prompt[] {
  if (endpoint === 'chat') return [chatPrompt(body)];
  return endpoint === 'completions' ? listPrompts(body.prompt, body.suffix) : listPrompts(body.input, undefined);
}

/** At least the exact count of the prompt, never less; no tokenizer involved. */
export function promptBound(p: Prompt): number {
  let n = p.fixedTokens;
  for (const t of p.texts) n += Buffer.byteLength(t, 'utf8');
  return n;
}

/** The byte bound of all of a request's prompts together. */
export function promptsBound(prompts: readonly Prompt[]): number {
  let n = 0;
  for (const p of prompts) n += promptBound(p);
  return n;
}

/**
 * Exact token counts of prompts, counted off the event loop. A prompt over `limit` is counted only
 * until that is known: its number is then more than `limit`, but not its full size.
 */
export async function countPrompts(prompts: readonly Prompt[], limit = Infinity): Promise<number[]> {
  const counted = await offload.count(prompts.map((p) => p.texts), limit);
  return counted.map((n, i) => n + prompts[i]!.fixedTokens);
}

export function sum(xs: readonly number[]): number {
  let n = 0;
  for (const x of xs) n += x;
  return n;
}
