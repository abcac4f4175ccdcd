// Token figures of one request that billing and rate limits both need: the most it may use before
// it runs (what they reserve), and what it was served once it ends (what they settle to).
import type { RequestContext } from '../server/context.js';
import { promptsOf } from './prompt.js';

/**
 * Most completion tokens the request may produce: max_tokens per choice, or when absent the rest
 * of the context, so that omitting max_tokens never buys a smaller reservation. A completions
 * prompt array has n choices per prompt, each prompt with a context of its own.
 */
export function maxCompletionTokens(ctx: RequestContext, promptTokens: number): number {
  if (ctx.endpoint === 'embeddings') return 0;
  const body = ctx.body!;
  const prompts = ctx.endpoint === 'completions' ? (ctx.prompts ??= promptsOf(body, 'completions')).length : 1;
  const maxTokens = (body.max_completion_tokens ?? body.max_tokens) as number | null | undefined;
  const perChoice = maxTokens ?? 0;
  const perN = maxTokens === undefined || maxTokens === null ? Math.max(0, ctx.model!.config.contextLength * prompts - promptTokens) : perChoice * prompts;
  return perN * (typeof body.n === 'number' ? body.n : 1);
}

/**
 * Tokens the client was served, or undefined when nothing was delivered (refused, or failed before
 * any output). A stream that broke or was abandoned after output started still delivered that
 * output; without the engine's usage its events stand in for the completion tokens.
 */
export function servedTokens(ctx: RequestContext, status: number): { input: number; output: number } | undefined {
  if (status !== 200 && (ctx.streamedEvents ?? 0) === 0) return undefined;
  return { input: ctx.usage?.prompt_tokens ?? ctx.promptTokens ?? 0, output: ctx.usage?.completion_tokens ?? ctx.streamedEvents ?? 0 };
}
