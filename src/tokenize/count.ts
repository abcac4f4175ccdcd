// Prompt token counting with a real BPE tokenizer (gpt-tokenizer, o200k_base). Engines serving
// other model families tokenize a little differently; the count is used for the context check
// and estimates, while billing uses the usage the engine reports. The tokenizer's tables take
// ~60 MB, so they are loaded on first use: most requests are settled by the byte bound below.
import { createRequire } from 'node:module';

type Tokenizer = { countTokens(text: string): number };
let tokenizer: Tokenizer | undefined;
function tok(): Tokenizer {
  return (tokenizer ??= createRequire(import.meta.url)('gpt-tokenizer') as Tokenizer);
}

/** Chat formats add a few tokens per message for role markers (OpenAI's documented overhead). */
const PER_MESSAGE = 3;
const PER_REPLY = 3;

export function countText(text: string): number {
  return tok().countTokens(text);
}

/** Text of a message's content, whether a string or an array of parts. */
export function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  let out = '';
  for (const part of content as Array<Record<string, unknown>>) {
    if (typeof part.text === 'string') out += part.text;
    else if (typeof part.refusal === 'string') out += part.refusal;
  }
  return out;
}

export function chatPromptText(messages: ReadonlyArray<Record<string, unknown>>): string {
  let text = '';
  for (const m of messages) {
    text += `${String(m.role)}\n${contentText(m.content)}\n`;
    if (m.tool_calls !== undefined) text += JSON.stringify(m.tool_calls);
  }
  return text;
}

export function countChatPrompt(messages: ReadonlyArray<Record<string, unknown>>): number {
  let n = PER_REPLY;
  for (const m of messages) {
    n += PER_MESSAGE + countText(contentText(m.content));
    if (typeof m.name === 'string') n += countText(m.name);
    if (m.tool_calls !== undefined) n += countText(JSON.stringify(m.tool_calls));
  }
  return n;
}

/** Completions prompts: a string, strings, or token ids (already counted). Returns per-prompt counts. */
export function countCompletionPrompts(prompt: unknown): number[] {
  if (typeof prompt === 'string') return [countText(prompt)];
  if (!Array.isArray(prompt) || prompt.length === 0) return [0];
  if (typeof prompt[0] === 'number') return [prompt.length];
  return (prompt as unknown[]).map((p) => (typeof p === 'string' ? countText(p) : Array.isArray(p) ? p.length : 0));
}

/** Cheap upper bound: every BPE token covers at least one UTF-8 byte, so bytes bound the count. */
export function tokenUpperBound(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/** Chat overhead per message when bounding by bytes (role markers, separators). */
export const CHAT_OVERHEAD_PER_MESSAGE = 8;
