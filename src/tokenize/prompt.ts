// Prompt token counts for a validated request body, per endpoint: exact (the tokenizer) or a
// cheap upper bound (UTF-8 bytes), which is enough wherever an overestimate is safe.
import type { Endpoint } from '../engines/types.js';
import { CHAT_OVERHEAD_PER_MESSAGE, chatPromptText, countChatPrompt, countCompletionPrompts, countText, tokenUpperBound } from './count.js';

export function promptTokenCount(body: Record<string, unknown>, endpoint: Endpoint): number {
  if (endpoint === 'chat') return countChatPrompt(body.messages as Array<Record<string, unknown>>);
  if (endpoint === 'completions') return countCompletionPrompts(body.prompt).reduce((a, b) => a + b, 0);
  const input = body.input;
  if (typeof input === 'string') return countText(input);
  if (!Array.isArray(input)) return 0;
  if (typeof input[0] === 'number') return input.length;
  return (input as unknown[]).reduce<number>((a, x) => a + (typeof x === 'string' ? countText(x) : Array.isArray(x) ? x.length : 0), 0);
}

function boundOf(x: unknown): number {
  if (typeof x === 'string') return tokenUpperBound(x);
  if (!Array.isArray(x)) return 0;
  if (x.length === 0 || typeof x[0] === 'number') return x.length;
  return x.reduce<number>((a, y) => a + boundOf(y), 0);
}

/** At least the exact count, never less; no tokenizer involved. */
export function promptTokenBound(body: Record<string, unknown>, endpoint: Endpoint): number {
  if (endpoint === 'chat') {
    const messages = body.messages as Array<Record<string, unknown>>;
    return tokenUpperBound(chatPromptText(messages)) + CHAT_OVERHEAD_PER_MESSAGE * messages.length + 3;
  }
  return boundOf(endpoint === 'completions' ? body.prompt : body.input);
}
