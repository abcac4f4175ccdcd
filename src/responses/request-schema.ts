// The body of POST /v1/responses: the fields OpenAI's clients send (the official SDK's
// responses.create, the Vercel AI SDK's default provider, the Agents SDKs), checked as strictly as
// the published schema says. The top level is strict: a field Sluice does not serve (a built-in
// tool, `background`, `conversation`, `reasoning`...) is a 400 naming it, not silently ignored.
// Input items are loose, as clients send back output items whole (ids, status, annotations).
import { z } from 'zod';

const MAX_ITEMS = 2_048;
const text = z.string().max(10 * 1024 * 1024);

const inputText = z.looseObject({ type: z.literal('input_text'), text });
const outputText = z.looseObject({ type: z.literal('output_text'), text });
const refusal = z.looseObject({ type: z.literal('refusal'), refusal: text });
const inputImage = z.looseObject({
  type: z.literal('input_image'),
  image_url: z.string().min(1).nullish(),
  file_id: z.string().nullish(),
  detail: z.enum(['auto', 'low', 'high']).optional(),
});
const contentPart = z.discriminatedUnion('type', [inputText, outputText, refusal, inputImage]);

export const messageItem = z.looseObject({
  type: z.literal('message').optional(),
  id: z.string().optional(),
  role: z.enum(['user', 'assistant', 'system', 'developer']),
  content: z.union([text, z.array(contentPart).max(MAX_ITEMS)]),
});

export const functionCallItem = z.looseObject({
  type: z.literal('function_call'),
  id: z.string().optional(),
  call_id: z.string().min(1).max(256),
  name: z.string().min(1).max(256),
  arguments: text,
});

const outputContent = z.array(z.discriminatedUnion('type', [inputText, inputImage])).max(MAX_ITEMS);
export const functionCallOutputItem = z.looseObject({
  type: z.literal('function_call_output'),
  id: z.string().nullish(),
  call_id: z.string().min(1).max(256),
  output: z.union([text, outputContent]),
});

export const itemReference = z.looseObject({ type: z.literal('item_reference'), id: z.string().min(1).max(256) });

/** An input item: a message (with or without `type`), a function call or its output, or a reference to a stored item. */
const inputItem = z.union([messageItem, functionCallItem, functionCallOutputItem, itemReference]);

const functionTool = z.looseObject({
  type: z.literal('function'),
  name: z.string().min(1).max(64).regex(/^[a-zA-Z0-9_-]+$/, 'a function name is letters, digits, _ and -'),
  description: z.string().nullish(),
  parameters: z.record(z.string(), z.unknown()).nullish(),
  strict: z.boolean().nullish(),
});

const toolChoice = z.union([
  z.enum(['none', 'auto', 'required']),
  z.looseObject({ type: z.literal('function'), name: z.string().min(1) }),
]);

const format = z.discriminatedUnion('type', [
  z.looseObject({ type: z.literal('text') }),
  z.looseObject({ type: z.literal('json_object') }),
  z.looseObject({
    type: z.literal('json_schema'),
    name: z.string().min(1).max(64),
    schema: z.record(z.string(), z.unknown()),
    description: z.string().optional(),
    strict: z.boolean().nullish(),
  }),
]);

export const responsesRequest = z.strictObject({
  model: z.string().min(1).max(256),
  input: z.union([text, z.array(inputItem).max(MAX_ITEMS)]),
  instructions: text.nullish(),
  max_output_tokens: z.int().min(1).max(2 ** 31 - 1).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  tools: z.array(functionTool).max(128).optional(),
  tool_choice: toolChoice.optional(),
  parallel_tool_calls: z.boolean().nullish(),
  text: z.strictObject({ format: format.optional(), verbosity: z.enum(['low', 'medium', 'high']).nullish() }).optional(),
  stream: z.boolean().nullish(),
  store: z.boolean().nullish(),
  previous_response_id: z.string().min(1).max(256).nullish(),
  // OpenAI: at most 16 pairs, keys up to 64 characters, values up to 512.
  metadata: z.record(z.string().max(64), z.string().max(512)).refine((m) => Object.keys(m).length <= 16, 'at most 16 keys').nullish(),
  user: z.string().max(512).optional(),
  // What the published schema has and Sluice can honour as such: no truncation (the context
  // check refuses a prompt that does not fit), and no extra outputs to include.
  truncation: z.enum(['disabled']).nullish(),
  include: z.array(z.string()).max(0, "Sluice adds nothing to a response's output on request; send no 'include' values").nullish(),
});

export type ResponsesRequest = z.infer<typeof responsesRequest>;
export type InputItem = z.infer<typeof inputItem>;
