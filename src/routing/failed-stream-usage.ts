// A stream that fails after some output was delivered is billed for that output. A client that
// asked for stream_options.include_usage is told what it was billed, in the usage chunk it would
// have had at the end, sent before the error event.
import { servedTokens } from '../tokenize/request-tokens.js';
import { countPrompts, promptsOf, sum } from '../tokenize/prompt.js';
import type { RequestContext } from '../server/context.js';

/**
 * Without the engine's usage, the prompt's tokens are not known unless the gateway counted them:
 * count them now (a rare path), so that billing, limits and the usage chunk all charge the prompt
 * the engine read rather than nothing.
 */
export async function countPromptIfUnknown(ctx: RequestContext): Promise<void> {
  if (ctx.usage !== undefined || ctx.promptTokens !== undefined) return;
  const prompts = (ctx.prompts ??= promptsOf(ctx.body!, ctx.endpoint!));
  ctx.promptTokens = sum(await countPrompts(prompts, ctx.model!.config.contextLength));
}

/**
 * The usage chunk for a failed stream, shaped like the stream's own chunks (id, object, created
 * and model from its first payload, `choices` empty), or '' when the first payload is not a chunk.
 */
export function usageChunk(ctx: RequestContext, firstPayload: string): string {
  const served = servedTokens(ctx, 200);
  if (!served) return '';
  let head: Record<string, unknown>;
  try {
    head = JSON.parse(firstPayload) as Record<string, unknown>;
  } catch {
    return '';
  }
  const usage = { prompt_tokens: served.input, completion_tokens: served.output, total_tokens: served.input + served.output };
  return JSON.stringify({ id: head.id, object: head.object, created: head.created, model: head.model, choices: [], usage });
}
