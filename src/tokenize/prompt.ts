// Prompt token counts for a validated request body, per endpoint.
import type { Endpoint } from '../engines/types.js';
import { countChatPrompt, countCompletionPrompts, countText } from './count.js';

export function chatPromptCount(body: Record<string, unknown>): number {
  return countChatPrompt(body.messages as Array<Record<string, unknown>>);
}

export function promptTokenCount(body: Record<string, unknown>, endpoint: Endpoint): number {
  if (endpoint === 'chat') return chatPromptCount(body);
  if (endpoint === 'completions') return countCompletionPrompts(body.prompt).reduce((a, b) => a + b, 0);
  const input = body.input;
  if (typeof input === 'string') return countText(input);
  if (!Array.isArray(input)) return 0;
  if (typeof input[0] === 'number') return input.length;
  return (input as unknown[]).reduce<number>((a, x) => a + (typeof x === 'string' ? countText(x) : Array.isArray(x) ? x.length : 0), 0);
}
