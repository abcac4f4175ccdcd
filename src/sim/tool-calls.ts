// When the simulated model calls a tool, which one, and with what arguments. A real engine decides
// from the weights; here the seed and the prompt decide, so the same request always gets the same
// answer and tests are stable. Arguments come from the tool's JSON Schema, valid as under
// guided decoding (vLLM) or strict mode (OpenAI). One call per answer: parallel calls are allowed,
// never required.
import { hashString, intBetween, mulberry32 } from './rng.js';
import { valueFromSchema } from './json-from-schema.js';
import { SimRequestError } from './request-error.js';

interface FunctionTool {
  name: string;
  parameters: unknown;
}

export interface ToolSetup {
  tools: FunctionTool[];
  /** auto: call about half the time; required: always, some tool; a name: always, that tool. */
  mode: { kind: 'auto' } | { kind: 'required' } | { kind: 'named'; tool: FunctionTool };
}

export interface ToolCall {
  id: string;
  name: string;
  arguments: string;
}

type Body = Record<string, unknown>;

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

function functionTools(tools: unknown): FunctionTool[] {
  if (!Array.isArray(tools)) return [];
  const out: FunctionTool[] = [];
  for (const t of tools as Array<Record<string, unknown>>) {
    const fn = t?.function as Record<string, unknown> | undefined;
    if (t?.type === 'function' && typeof fn?.name === 'string') out.push({ name: fn.name, parameters: fn.parameters });
  }
  return out;
}

/**
 * What a chat request allows, or undefined when the answer is text: no function tools, tool_choice
 * none, or the last message is a tool result (the model answers it in text, so an agent loop ends).
 */
export function toolSetup(body: Body): ToolSetup | undefined {
  const choice = body.tool_choice;
  if (choice === 'none') return undefined;
  const tools = functionTools(body.tools);
  const named = typeof choice === 'object' && choice !== null ? ((choice as Body).function as Body | undefined)?.name : undefined;
  if (tools.length === 0) {
    if (choice === 'required' || named !== undefined) throw new SimRequestError('tool_choice requires tools with at least one function', 'tool_choice');
    return undefined;
  }
  let mode: ToolSetup['mode'] = { kind: choice === 'required' ? 'required' : 'auto' };
  if (typeof named === 'string') {
    const tool = tools.find((t) => t.name === named);
    if (!tool) throw new SimRequestError(`tool_choice names function '${named}', which is not in tools`, 'tool_choice');
    mode = { kind: 'named', tool };
  }
  const messages = body.messages as Array<{ role?: unknown }>;
  const last = messages[messages.length - 1]?.role;
  if (last === 'tool' || last === 'function') return undefined;
  return { tools, mode };
}

/** The call a choice makes, or undefined for a text answer (auto mode, about half the time). */
export function toolCallFor(setup: ToolSetup, seed: number, key: string): ToolCall | undefined {
  const rand = mulberry32(hashString(`tools\u0000${key}`, seed >>> 0));
  if (setup.mode.kind === 'auto' && rand() < 0.5) return undefined;
  const tool = setup.mode.kind === 'named' ? setup.mode.tool : setup.tools[intBetween(rand, 0, setup.tools.length - 1)]!;
  let id = 'call_';
  for (let i = 0; i < 24; i++) id += ALPHABET[intBetween(rand, 0, ALPHABET.length - 1)];
  return { id, name: tool.name, arguments: JSON.stringify(argumentsFor(tool.parameters, rand)) };
}

/** Arguments are always an object: a tool without parameters (or with an untyped schema) gets {}. */
function argumentsFor(parameters: unknown, rand: () => number): unknown {
  const p = parameters as Body | undefined;
  const objectLike = typeof p === 'object' && p !== null && (p.type === 'object' || 'properties' in p || '$ref' in p || 'anyOf' in p || 'allOf' in p);
  if (!objectLike) return {};
  const v = valueFromSchema(p, rand);
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? v : {};
}
