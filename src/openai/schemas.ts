// OpenAI request schemas. Unknown fields pass through to the engine (vLLM-style extras such as
// top_k), so objects are loose; known fields are checked for type and range.
import { z } from 'zod';

const MAX_TOKENS_CEILING = 2 ** 31 - 1;
const maxTokens = z.number().int().min(1).max(MAX_TOKENS_CEILING).nullish();
const stop = z.union([z.string(), z.array(z.string()).max(4)]).nullish();
const streamOptions = z.looseObject({ include_usage: z.boolean().optional() }).nullish();
// OpenAI's seed is an int64. Past 2^53 a JSON number is no longer exact in JavaScript, but it is
// still an integer the schema allows (clients draw seeds from the whole 64-bit range), so the
// bound is int64's, not the safe-integer range that z.int() checks.
const INT64 = 2 ** 63;
const seed = z.number().min(-INT64).max(INT64).refine(Number.isInteger, 'expected an integer').nullish();

const sampling = {
  model: z.string().min(1).max(256),
  stream: z.boolean().nullish(),
  stream_options: streamOptions,
  n: z.number().int().min(1).max(128).nullish(),
  stop,
  max_tokens: maxTokens,
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  presence_penalty: z.number().min(-2).max(2).nullish(),
  frequency_penalty: z.number().min(-2).max(2).nullish(),
  seed,
  user: z.string().max(512).nullish(),
  logit_bias: z.record(z.string(), z.number().min(-100).max(100)).nullish(),
};

const textPart = z.looseObject({ type: z.literal('text'), text: z.string() });
const imagePart = z.looseObject({
  type: z.literal('image_url'),
  image_url: z.looseObject({ url: z.string().min(1), detail: z.enum(['auto', 'low', 'high']).optional() }),
});
const audioPart = z.looseObject({ type: z.literal('input_audio'), input_audio: z.looseObject({ data: z.string(), format: z.string() }) });
const filePart = z.looseObject({ type: z.literal('file'), file: z.looseObject({}) });
const refusalPart = z.looseObject({ type: z.literal('refusal'), refusal: z.string() });
const contentPart = z.discriminatedUnion('type', [textPart, imagePart, audioPart, filePart, refusalPart]);
const content = z.union([z.string(), z.array(contentPart)]);

const toolCall = z.discriminatedUnion('type', [
  z.looseObject({ id: z.string(), type: z.literal('function'), function: z.looseObject({ name: z.string(), arguments: z.string() }) }),
  z.looseObject({ id: z.string(), type: z.literal('custom'), custom: z.looseObject({ name: z.string(), input: z.string() }) }),
]);

const message = z.discriminatedUnion('role', [
  z.looseObject({ role: z.literal('system'), content, name: z.string().optional() }),
  z.looseObject({ role: z.literal('developer'), content, name: z.string().optional() }),
  z.looseObject({ role: z.literal('user'), content, name: z.string().optional() }),
  z.looseObject({
    role: z.literal('assistant'),
    content: content.nullish(),
    name: z.string().optional(),
    tool_calls: z.array(toolCall).optional(),
    refusal: z.string().nullish(),
  }),
  z.looseObject({ role: z.literal('tool'), content, tool_call_id: z.string() }),
  z.looseObject({ role: z.literal('function'), content: z.string().nullable(), name: z.string() }),
]);

export const chatCompletionRequest = z.looseObject({
  ...sampling,
  messages: z.array(message).min(1, 'messages must contain at least one message'),
  max_completion_tokens: maxTokens,
  logprobs: z.boolean().nullish(),
  top_logprobs: z.number().int().min(0).max(20).nullish(),
  tools: z.array(z.looseObject({ type: z.string(), function: z.looseObject({ name: z.string() }).optional() })).max(128).nullish(), // OpenAI's documented maximum
  tool_choice: z.union([z.enum(['none', 'auto', 'required']), z.looseObject({ type: z.string() })]).nullish(),
  parallel_tool_calls: z.boolean().nullish(),
  response_format: z.looseObject({ type: z.enum(['text', 'json_object', 'json_schema']) }).nullish(),
});
export type ChatCompletionRequest = z.infer<typeof chatCompletionRequest>;

// Token-id prompts can hold a whole context of numbers: one loop, not a schema per number (which
// cost ~1 µs each, 0.6 s for 500,000 ids).
const isTokenId = (x: unknown) => typeof x === 'number' && Number.isInteger(x) && x >= 0;
const tokenArray = z.custom<number[]>((v) => Array.isArray(v) && v.length > 0 && v.every(isTokenId), { message: 'expected a non-empty array of token ids (integers of 0 or more)' });
export const completionRequest = z.looseObject({
  ...sampling,
  prompt: z.union([z.string(), tokenArray, z.array(z.string()).min(1), z.array(tokenArray).min(1)]), // token ids first: checked in one loop
  echo: z.boolean().nullish(),
  logprobs: z.number().int().min(0).max(5).nullish(),
  best_of: z.number().int().min(1).max(20).nullish(),
  suffix: z.string().nullish(),
});
export type CompletionRequest = z.infer<typeof completionRequest>;

export const embeddingRequest = z.looseObject({
  model: z.string().min(1).max(256),
  input: z.union([z.string(), tokenArray, z.array(z.string()).min(1).max(2048), z.array(tokenArray).min(1).max(2048)]),
  encoding_format: z.enum(['float', 'base64']).optional(),
  dimensions: z.number().int().min(1).max(8192).optional(),
  user: z.string().max(512).optional(),
});
export type EmbeddingRequest = z.infer<typeof embeddingRequest>;
