// Precedence 9: prompt tokens plus max_tokens must fit the model's context. Counting is skipped
// when the prompt's UTF-8 size alone proves it fits (every token covers at least one byte).
import { GatewayError } from '../errors/gateway-error.js';
import type { RequestContext } from '../server/context.js';
import { countChatPrompt, countCompletionPrompts, countText, tokenUpperBound } from '../tokenize/count.js';
import { promptTokenBound } from '../tokenize/prompt.js';


function exceeded(context: number, prompt: number, maxTokens: number | undefined, promptParam: string): GatewayError {
  const total = prompt + (maxTokens ?? 0);
  const detail = maxTokens === undefined ? `${prompt} in the prompt` : `${prompt} in the prompt and ${maxTokens} for the completion`;
  return new GatewayError('context_length_exceeded', {
    param: prompt > context || maxTokens === undefined ? promptParam : 'max_tokens',
    message: `This model's maximum context length is ${context} tokens. However, you requested ${total} tokens (${detail}).`,
  });
}

export function checkContextLength(ctx: RequestContext): void {
  const context = ctx.model!.config.contextLength;
  const body = ctx.body!;
  if (ctx.endpoint === 'embeddings') {
    const inputs = Array.isArray(body.input) && typeof body.input[0] !== 'number' ? (body.input as unknown[]) : [body.input];
    for (const x of inputs) {
      const n = typeof x === 'string' ? (tokenUpperBound(x) <= context ? 0 : countText(x)) : Array.isArray(x) ? x.length : 0;
      if (n > context) throw new GatewayError('context_length_exceeded', { param: 'input', message: `This model's maximum context length is ${context} tokens. However, an input has ${n} tokens.` });
    }
    return;
  }
  const maxTokens = (body.max_completion_tokens ?? body.max_tokens ?? undefined) as number | undefined;
  const budget = context - (maxTokens ?? 0);
  if (ctx.endpoint === 'chat') {
    const messages = body.messages as Array<Record<string, unknown>>;
    // Billing may have counted already; otherwise the byte bound often proves it fits for free.
    if (ctx.promptTokens === undefined && (ctx.promptBound ??= promptTokenBound(body, 'chat')) <= budget) return;
    const prompt = (ctx.promptTokens ??= countChatPrompt(messages));
    if (prompt > budget) throw exceeded(context, prompt, maxTokens, 'messages');
    return;
  }
  if (ctx.promptTokens === undefined && (ctx.promptBound ??= promptTokenBound(body, 'completions')) <= budget) return;
  for (const prompt of countCompletionPrompts(body.prompt)) {
    if (prompt > budget) throw exceeded(context, prompt, maxTokens, 'prompt');
  }
}
