// What a validated OpenAI request asks of the local engine: the prompt (chat messages as
// node-llama-cpp's chat history, or a completion prompt) and the sampling settings it can honour.
// Valid fields it cannot honour are a 400 unsupported_parameter naming the field, never ignored.
import { GatewayError } from '../../errors/gateway-error.js';
import type { ChatHistoryItem, CompletionOptions, RepeatPenalty, Token } from './binding.js';

type Body = Record<string, unknown>;

function unsupported(param: string, what: string): GatewayError {
  return new GatewayError('unsupported_parameter', { param, message: `${what} is not supported by the local llama engine.` });
}

/** Refuses the valid fields the engine cannot honour (each would otherwise be silently dropped). */
export function refuseUnsupported(endpoint: 'chat' | 'completions', body: Body): void {
  if (typeof body.n === 'number' && body.n > 1) throw unsupported('n', 'More than one choice (n > 1)');
  if (typeof body.best_of === 'number' && body.best_of > 1) throw unsupported('best_of', 'best_of above 1');
  if (body.logprobs === true || (endpoint === 'completions' && typeof body.logprobs === 'number')) throw unsupported('logprobs', 'logprobs');
  if (Array.isArray(body.tools) && body.tools.length > 0) throw unsupported('tools', 'Tool calling');
  if (Array.isArray(body.functions) && body.functions.length > 0) throw unsupported('functions', 'Function calling');
  const format = body.response_format as { type?: string } | undefined | null;
  if (format && format.type !== 'text') throw unsupported('response_format', `response_format ${String(format.type)}`);
  if (body.logit_bias && Object.keys(body.logit_bias).length > 0) throw unsupported('logit_bias', 'logit_bias');
  if (typeof body.suffix === 'string' && body.suffix !== '') throw unsupported('suffix', 'suffix');
  if (Array.isArray(body.modalities) && body.modalities.includes('audio')) throw unsupported('modalities', 'Audio output');
}

function textOf(content: unknown, param: string): string {
  if (typeof content === 'string') return content;
  if (content === null || content === undefined) return '';
  if (!Array.isArray(content)) throw new GatewayError('invalid_parameter', { param });
  return content.map((part: { type?: string; text?: string; refusal?: string }, i) => {
    if (part.type === 'text') return part.text ?? '';
    if (part.type === 'refusal') return part.refusal ?? '';
    throw unsupported(`${param}[${i}]`, `Content of type ${String(part.type)}`);
  }).join('');
}

/** The chat as node-llama-cpp's history, ending with an empty model turn to be generated. */
export function chatHistory(messages: Body[]): ChatHistoryItem[] {
  const history: ChatHistoryItem[] = messages.map((m, i) => {
    const param = `messages[${i}]`;
    switch (m.role) {
      case 'system':
      case 'developer':
        return { type: 'system', text: textOf(m.content, `${param}.content`) };
      case 'user':
        return { type: 'user', text: textOf(m.content, `${param}.content`) };
      case 'assistant':
        if (Array.isArray(m.tool_calls) && m.tool_calls.length > 0) throw unsupported(`${param}.tool_calls`, 'Tool calls');
        return { type: 'model', response: [textOf(m.content, `${param}.content`)] };
      default:
        throw unsupported(`${param}.role`, `The role ${String(m.role)}`);
    }
  });
  history.push({ type: 'model', response: [] });
  return history;
}

/**
 * A completions prompt: one string, or one array of token ids (the engine's own vocabulary, as
 * with vLLM). Batches of prompts are refused: one prompt, one sequence.
 */
export function completionPrompt(prompt: unknown, vocabularySize: number): { text: string } | { tokens: Token[] } {
  if (typeof prompt === 'string') return { text: prompt };
  if (Array.isArray(prompt)) {
    if (prompt.length === 1 && (typeof prompt[0] === 'string' || Array.isArray(prompt[0]))) return completionPrompt(prompt[0], vocabularySize);
    if (prompt.every((t) => typeof t === 'number')) {
      const bad = prompt.findIndex((t) => t < 0 || t >= vocabularySize);
      if (bad !== -1) throw new GatewayError('invalid_parameter', { param: `prompt[${bad}]`, message: `Token id ${String(prompt[bad])} is not in the model's vocabulary (0 to ${vocabularySize - 1}).` });
      return { tokens: prompt as Token[] };
    }
  }
  throw unsupported('prompt', 'A batch of several prompts');
}

function stops(stop: unknown): string[] {
  if (typeof stop === 'string') return stop === '' ? [] : [stop];
  if (Array.isArray(stop)) return stop.filter((s): s is string => typeof s === 'string' && s !== '');
  return [];
}

/** Sampling as OpenAI defines it: temperature 1, no nucleus cut and no penalties unless asked. */
export function samplingOptions(body: Body): Pick<CompletionOptions, 'temperature' | 'topP' | 'seed' | 'repeatPenalty'> & { stop: string[] } {
  const frequency = typeof body.frequency_penalty === 'number' ? body.frequency_penalty : 0;
  const presence = typeof body.presence_penalty === 'number' ? body.presence_penalty : 0;
  const repeatPenalty: false | RepeatPenalty = frequency === 0 && presence === 0 ? false : { penalty: 1, frequencyPenalty: frequency, presencePenalty: presence };
  return {
    temperature: typeof body.temperature === 'number' ? body.temperature : 1,
    ...(typeof body.top_p === 'number' && body.top_p < 1 && { topP: body.top_p }),
    ...(typeof body.seed === 'number' && { seed: body.seed }),
    repeatPenalty,
    stop: stops(body.stop),
  };
}

export function maxTokensOf(body: Body): number | undefined {
  const v = body.max_completion_tokens ?? body.max_tokens;
  return typeof v === 'number' ? v : undefined;
}
