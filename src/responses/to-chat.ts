// A Responses request as a chat completions body, so it runs the gateway's one request path (auth,
// limits, credits, the ledger, admission, routing, retries) on every engine that speaks chat.
// Also the request's input as the items OpenAI stores and lists (`GET .../input_items`): every
// item with an id and a status, in OpenAI's output shapes.
import { randomBytes } from 'node:crypto';
import { GatewayError } from '../errors/gateway-error.js';
import type { InputItem, ResponsesRequest } from './request-schema.js';

type Json = Record<string, unknown>;
type ChatMessage = Json & { role: string };

/** An id in OpenAI's style: a prefix and 48 hex digits (24 random bytes). */
export function itemId(prefix: 'resp' | 'msg' | 'fc' | 'fco'): string {
  return `${prefix}_${randomBytes(24).toString('hex')}`;
}

function invalid(param: string, message: string): GatewayError {
  return new GatewayError('invalid_parameter', { param, message });
}

type Part = Json & { type: string };

function partsText(parts: readonly Part[]): string {
  let s = '';
  for (const p of parts) s += typeof p.text === 'string' ? p.text : typeof p.refusal === 'string' ? p.refusal : '';
  return s;
}

/** A message item's content as chat content: a string where it is all text, else parts. */
function chatContent(content: string | readonly Part[], param: string): string | Json[] {
  if (typeof content === 'string') return content;
  if (!content.some((p) => p.type === 'input_image')) return partsText(content);
  return content.map((p, i) => {
    if (p.type !== 'input_image') return { type: 'text', text: typeof p.text === 'string' ? p.text : String(p.refusal ?? '') };
    if (typeof p.image_url !== 'string') throw invalid(`${param}[${i}].file_id`, "Sluice has no Files API: send the image as 'image_url' (a URL or a data: URL).");
    return { type: 'image_url', image_url: { url: p.image_url, ...(p.detail !== undefined && { detail: p.detail }) } };
  });
}

/** Input items (this turn's, as stored) to chat messages, appended to `out`. */
export function itemsToMessages(items: readonly Json[], out: ChatMessage[], param = 'input'): void {
  items.forEach((item, i) => {
    const at = `${param}[${i}]`;
    switch (item.type ?? 'message') {
      case 'message': {
        const role = item.role === 'developer' ? 'system' : (item.role as string);
        out.push({ role, content: chatContent(item.content as string | Part[], `${at}.content`) });
        return;
      }
      case 'function_call': {
        const call = { id: item.call_id, type: 'function', function: { name: item.name, arguments: item.arguments } };
        // Calls of one turn are one assistant message (with its text, when the turn had some).
        const last = out[out.length - 1];
        if (last?.role === 'assistant') {
          last.tool_calls = [...((last.tool_calls as Json[] | undefined) ?? []), call];
          if (last.content === '') last.content = null;
        } else out.push({ role: 'assistant', content: null, tool_calls: [call] });
        return;
      }
      case 'function_call_output': {
        const output = item.output as string | Part[];
        out.push({ role: 'tool', tool_call_id: item.call_id, content: typeof output === 'string' ? output : partsText(output) });
        return;
      }
      default:
        throw invalid(`${at}.type`, `Input items of type '${String(item.type)}' are not supported here.`);
    }
  });
}

/**
 * This turn's input as stored items: a string is one user message; an item reference is the item
 * it names (from `referenced`, already scoped to the account); every item gets an id and status.
 */
export function normalizeInput(input: ResponsesRequest['input'], referenced: ReadonlyMap<string, Json>): Json[] {
  if (typeof input === 'string') return [{ id: itemId('msg'), type: 'message', role: 'user', status: 'completed', content: [{ type: 'input_text', text: input }] }];
  return input.map((item: InputItem, i): Json => {
    const type = (item.type ?? 'message') as string;
    if (type === 'item_reference') {
      const found = referenced.get(item.id as string);
      if (!found) throw invalid(`input[${i}].id`, `No stored item '${String(item.id).slice(0, 256)}' exists for this account.`);
      return found;
    }
    if (type === 'message') {
      const content = typeof item.content === 'string'
        ? [{ type: item.role === 'assistant' ? 'output_text' : 'input_text', text: item.content, ...(item.role === 'assistant' && { annotations: [] }) }]
        : item.content;
      return { ...item, id: typeof item.id === 'string' ? item.id : itemId('msg'), type: 'message', status: 'completed', content };
    }
    const prefix = type === 'function_call' ? 'fc' : 'fco';
    return { ...item, id: typeof item.id === 'string' ? item.id : itemId(prefix), status: 'completed' };
  });
}

/** The ids of the items a request refers to (to fetch them from the store in one query). */
export function referencedIds(input: ResponsesRequest['input']): string[] {
  if (typeof input === 'string') return [];
  return input.flatMap((item) => (item.type === 'item_reference' ? [item.id as string] : []));
}

function responseFormat(format: NonNullable<NonNullable<ResponsesRequest['text']>['format']>): Json | undefined {
  if (format.type === 'json_object') return { type: 'json_object' };
  if (format.type === 'json_schema') {
    const f = format as Json;
    return { type: 'json_schema', json_schema: { name: f.name, schema: f.schema, ...(f.description !== undefined && { description: f.description }), ...(f.strict != null && { strict: f.strict }) } };
  }
  return undefined;
}

/**
 * The chat body for this request: instructions first (a system message; an earlier response's
 * instructions are not carried over, as at OpenAI), then the earlier turns' items, then this turn's.
 */
export function toChatBody(req: ResponsesRequest, history: readonly Json[], input: readonly Json[]): Json {
  const messages: ChatMessage[] = [];
  if (req.instructions) messages.push({ role: 'system', content: req.instructions });
  itemsToMessages(history, messages, 'previous_response_id');
  itemsToMessages(input, messages);
  const body: Json = { model: req.model, messages };
  if (req.max_output_tokens != null) body.max_tokens = req.max_output_tokens;
  if (req.temperature != null) body.temperature = req.temperature;
  if (req.top_p != null) body.top_p = req.top_p;
  if (req.user !== undefined) body.user = req.user;
  if (req.tools && req.tools.length > 0) {
    body.tools = req.tools.map((t) => ({
      type: 'function',
      function: { name: t.name, ...(t.description != null && { description: t.description }), ...(t.parameters != null && { parameters: t.parameters }), ...(t.strict != null && { strict: t.strict }) },
    }));
    if (req.parallel_tool_calls != null) body.parallel_tool_calls = req.parallel_tool_calls;
  }
  if (req.tool_choice !== undefined) {
    body.tool_choice = typeof req.tool_choice === 'string' ? req.tool_choice : { type: 'function', function: { name: req.tool_choice.name } };
  }
  const format = req.text?.format && responseFormat(req.text.format);
  if (format) body.response_format = format;
  // A stream always carries usage: response.completed reports it.
  if (req.stream) {
    body.stream = true;
    body.stream_options = { include_usage: true };
  }
  return body;
}
