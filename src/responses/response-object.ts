// The Response object (OpenAI's `Response` schema), built from what the engine answered in chat
// completions' terms: one assembler for the whole answer (non-streaming) and for the snapshots a
// stream's response.created / response.completed events carry.
import type { Usage } from '../engines/types.js';
import type { ResponsesRequest } from './request-schema.js';
import { itemId } from './to-chat.js';

type Json = Record<string, unknown>;

export type ResponseStatus = 'in_progress' | 'completed' | 'incomplete' | 'failed';

/** What a response says about its request, fixed when it starts. */
export interface ResponseShell {
  id: string;
  createdAt: number;
  req: ResponsesRequest;
}

export function newShell(req: ResponsesRequest): ResponseShell {
  return { id: itemId('resp'), createdAt: Math.floor(Date.now() / 1000), req };
}

/** OpenAI's usage shape from chat usage (prompt caching reported where the engine reports it). */
export function responseUsage(u: Usage & { prompt_tokens_details?: { cached_tokens?: number } | null; completion_tokens_details?: { reasoning_tokens?: number } | null }): Json {
  return {
    input_tokens: u.prompt_tokens,
    input_tokens_details: { cached_tokens: u.prompt_tokens_details?.cached_tokens ?? 0, cache_write_tokens: 0 },
    output_tokens: u.completion_tokens,
    output_tokens_details: { reasoning_tokens: u.completion_tokens_details?.reasoning_tokens ?? 0 },
    total_tokens: u.total_tokens,
  };
}

/** Why a response stopped short, from the chat finish reason; undefined when it did not. */
export function incompleteReason(finishReason: unknown): 'max_output_tokens' | 'content_filter' | undefined {
  if (finishReason === 'length') return 'max_output_tokens';
  if (finishReason === 'content_filter') return 'content_filter';
  return undefined;
}

export interface ResponseState {
  status: ResponseStatus;
  output: Json[];
  usage: Json | null;
  incomplete?: 'max_output_tokens' | 'content_filter' | undefined;
  /** A failed response's error: `code` from OpenAI's list for response errors (see failedCode). */
  error?: { code: string; message: string } | undefined;
}

/**
 * The code a failed Response carries: OpenAI's schema allows only its own list there, so the
 * catalog's code travels in the stream's `error` event and this says which kind it was.
 */
export function failedCode(status: number): 'rate_limit_exceeded' | 'server_error' {
  return status === 429 ? 'rate_limit_exceeded' : 'server_error';
}

/** The Response object, every field OpenAI's schema requires, the request's settings echoed. */
export function responseObject(shell: ResponseShell, state: ResponseState): Json {
  const { req } = shell;
  const format = req.text?.format ?? { type: 'text' };
  return {
    id: shell.id,
    object: 'response',
    created_at: shell.createdAt,
    status: state.status,
    background: false,
    error: state.error ?? null,
    incomplete_details: state.incomplete ? { reason: state.incomplete } : null,
    instructions: req.instructions ?? null,
    max_output_tokens: req.max_output_tokens ?? null,
    model: req.model,
    output: state.output,
    parallel_tool_calls: req.parallel_tool_calls ?? true,
    previous_response_id: req.previous_response_id ?? null,
    reasoning: { effort: null, summary: null },
    store: req.store ?? true,
    temperature: req.temperature ?? 1,
    text: { format, ...(req.text?.verbosity != null && { verbosity: req.text.verbosity }) },
    tool_choice: req.tool_choice ?? 'auto',
    tools: (req.tools ?? []).map((t) => ({ type: 'function', name: t.name, description: t.description ?? null, parameters: t.parameters ?? null, strict: t.strict ?? true })),
    top_p: req.top_p ?? 1,
    truncation: 'disabled',
    // Left out rather than null until known (the published schema does not allow null here).
    ...(state.usage && { usage: state.usage }),
    ...(req.user !== undefined && { user: req.user }),
    metadata: req.metadata ?? {},
  };
}

/** An assistant message output item. */
export function messageOutputItem(id: string, text: string, status: 'in_progress' | 'completed' | 'incomplete'): Json {
  return { id, type: 'message', status, role: 'assistant', content: status === 'in_progress' && text === '' ? [] : [outputTextPart(text)] };
}

export function outputTextPart(text: string): Json {
  return { type: 'output_text', text, annotations: [], logprobs: [] };
}

export function functionCallItem(id: string, callId: string, name: string, args: string, status: 'in_progress' | 'completed' | 'incomplete'): Json {
  return { id, type: 'function_call', status, arguments: args, call_id: callId, name };
}

interface ChatChoice {
  message?: { content?: string | null; refusal?: string | null; tool_calls?: Array<{ id?: string; function?: { name?: string; arguments?: string } }> | null };
  finish_reason?: string | null;
}

/** A whole chat.completion answer as the Response's state. */
export function stateFromChat(answer: { choices?: ChatChoice[]; usage?: Usage | null }): ResponseState {
  const choice = answer.choices?.[0];
  const incomplete = incompleteReason(choice?.finish_reason);
  const itemStatus = incomplete ? 'incomplete' : 'completed';
  const output: Json[] = [];
  const message = choice?.message;
  const text = message?.content ?? message?.refusal ?? '';
  if (text !== '' || !message?.tool_calls?.length) output.push(messageOutputItem(itemId('msg'), text, itemStatus));
  for (const call of message?.tool_calls ?? []) {
    output.push(functionCallItem(itemId('fc'), call.id ?? itemId('fc'), call.function?.name ?? '', call.function?.arguments ?? '', itemStatus));
  }
  return { status: incomplete ? 'incomplete' : 'completed', output, usage: answer.usage ? responseUsage(answer.usage) : null, incomplete };
}
