// Precedence 9: prompt tokens plus max_tokens must fit the model's context. Each prompt's UTF-8
// size bounds its tokens, so most requests are proven to fit without counting (and without a
// promise); the rest are counted off the event loop, and counting stops once a prompt is over.
import { GatewayError } from '../errors/gateway-error.js';
import type { RequestContext } from '../server/context.js';
import { countPrompts, promptBound, promptsOf, sum } from '../tokenize/prompt.js';

const PARAM = { chat: 'messages', completions: 'prompt', embeddings: 'input' } as const;

function exceeded(ctx: RequestContext, context: number, prompt: number, maxTokens: number | undefined): GatewayError {
  const param = PARAM[ctx.endpoint!];
  if (ctx.endpoint === 'embeddings') {
    return new GatewayError('context_length_exceeded', { param, message: `This model's maximum context length is ${context} tokens. However, an input has at least ${prompt} tokens.` });
  }
  const detail = maxTokens === undefined ? `at least ${prompt} in the prompt` : `at least ${prompt} in the prompt and ${maxTokens} for the completion`;
  return new GatewayError('context_length_exceeded', {
    param: prompt > context || maxTokens === undefined ? param : 'max_tokens',
    message: `This model's maximum context length is ${context} tokens. However, you requested at least ${prompt + (maxTokens ?? 0)} tokens (${detail}).`,
  });
}

/** Undefined when the byte bound proves every prompt fits (or billing already counted them). */
export function checkContextLength(ctx: RequestContext): Promise<void> | undefined {
  const context = ctx.model!.config.contextLength;
  const body = ctx.body!;
  const maxTokens = ctx.endpoint === 'embeddings' ? undefined : ((body.max_completion_tokens ?? body.max_tokens ?? undefined) as number | undefined);
  const budget = context - (maxTokens ?? 0);
  const prompts = (ctx.prompts ??= promptsOf(body, ctx.endpoint!));
  if (ctx.promptCounts === undefined && prompts.every((p) => promptBound(p) <= budget)) return undefined;
  return (async () => {
    const counts = (ctx.promptCounts ??= await countPrompts(prompts, budget));
    const over = counts.find((n) => n > budget);
    if (over !== undefined) throw exceeded(ctx, context, over, maxTokens);
    ctx.promptTokens = sum(counts);
  })();
}
