// What one choice is: a tool call, a JSON answer (response_format), or generated text. Each is
// keyed by the seed, its prompt and its index, so the same request always gets the same choices.
import { generateChoice, limitPieces, type GeneratedChoice, type GenerateOptions } from './generate.js';
import { freeformObject, valueFromSchema } from './json-from-schema.js';
import { splitPieces } from './pieces.js';
import { hashString, mulberry32 } from './rng.js';
import { toolCallFor, type ToolSetup } from './tool-calls.js';

/** response_format as the plan needs it: undefined for text; a schema, or none for json_object. */
export interface JsonFormat {
  schema: unknown;
}

export function jsonFormat(responseFormat: unknown): JsonFormat | undefined {
  const f = responseFormat as Record<string, unknown> | null | undefined;
  if (f?.type === 'json_object') return { schema: undefined };
  if (f?.type !== 'json_schema') return undefined;
  return { schema: (f.json_schema as Record<string, unknown> | undefined)?.schema };
}

/** `prompt` seeds the choice: the messages, or this prompt of a prompt array. */
export interface ChoiceOptions extends GenerateOptions {
  tools: ToolSetup | undefined;
  json: JsonFormat | undefined;
}

export function answerChoice(o: ChoiceOptions): GeneratedChoice {
  // Plain text (the hot path) builds no key: generateChoice seeds itself.
  if (!o.tools && !o.json) return generateChoice(o);
  const key = `${o.index}\u0000${o.prompt}`;
  const call = o.tools && toolCallFor(o.tools, o.seed, key);
  if (call) {
    // Stop sequences cut text content only: the simulator keeps a call whole, or cut at max_tokens.
    const c = limitPieces(splitPieces(call.arguments), o.maxTokens, []);
    return { tokens: c.tokens, finishReason: c.finishReason === 'length' ? 'length' : 'tool_calls', toolCall: { id: call.id, name: call.name } };
  }
  if (o.json) {
    const rand = mulberry32(hashString(`json\u0000${key}`, o.seed >>> 0));
    const value = o.json.schema === undefined ? freeformObject(rand) : valueFromSchema(o.json.schema, rand);
    return limitPieces(splitPieces(JSON.stringify(value)), o.maxTokens, o.stop);
  }
  return generateChoice(o);
}
