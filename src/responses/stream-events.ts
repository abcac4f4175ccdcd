// A chat completions stream, retold as the Responses API's event sequence: response.created and
// response.in_progress; per output item output_item.added, then for text content_part.added,
// output_text.delta ... output_text.done, content_part.done, and for a tool call
// function_call_arguments.delta ... .done; output_item.done; then response.completed (or
// response.incomplete when max_output_tokens was reached). Every event carries its
// sequence_number, and is framed with its `event:` name as OpenAI frames it.
import type { GatewayError } from '../errors/gateway-error.js';
import { responsesErrorEvent } from '../errors/render.js';
import {
  failedCode, functionCallItem, incompleteReason, messageOutputItem, outputTextPart, responseObject, responseUsage,
  type ResponseShell, type ResponseState,
} from './response-object.js';
import { itemId } from './to-chat.js';
import type { Usage } from '../engines/types.js';

type Json = Record<string, unknown>;

interface OpenText {
  kind: 'text';
  id: string;
  index: number;
  text: string;
}
interface OpenCall {
  kind: 'call';
  id: string;
  index: number;
  callId: string;
  name: string;
  args: string;
}

interface ChunkDelta {
  content?: string | null;
  refusal?: string | null;
  tool_calls?: Array<{ index?: number; id?: string; function?: { name?: string; arguments?: string } }> | null;
}
interface Chunk {
  choices?: Array<{ index?: number; delta?: ChunkDelta; finish_reason?: string | null }>;
  usage?: Usage | null;
}

export class ResponsesStream {
  private seq = 0;
  /** Output items, finished or not, in output_index order. */
  private readonly items: Json[] = [];
  private text: OpenText | undefined;
  /** Tool calls being streamed, by the chat stream's tool call index. */
  private readonly calls = new Map<number, OpenCall>();
  private finishReason: string | null | undefined;
  private usage: Usage | undefined;

  private opened = false;

  constructor(private readonly shell: ResponseShell) {}

  /**
   * The opening events, ahead of whatever is written first: the gateway writes only once the
   * engine has answered (before that, errors are plain HTTP), so they open every stream it writes.
   */
  private opening(): string {
    if (this.opened) return '';
    this.opened = true;
    const snapshot = this.snapshot({ status: 'in_progress', output: [], usage: null });
    return this.event('response.created', { response: snapshot }) + this.event('response.in_progress', { response: snapshot });
  }

  /** Events for a batch of the engine's chat chunk payloads (JSON text). */
  events(payloads: readonly string[]): string {
    let out = this.opening();
    for (const p of payloads) out += this.chunk(JSON.parse(p) as Chunk);
    return out;
  }

  /** The closing events, and the final Response with its output (to store). */
  end(): { text: string; response: Json; output: Json[] } {
    const incomplete = incompleteReason(this.finishReason);
    const itemStatus = incomplete ? 'incomplete' : 'completed';
    let out = this.opening();
    // A stream with neither text nor tool calls still answers with one (empty) message.
    if (this.items.length === 0) out += this.openText();
    out += this.closeAll(itemStatus);
    const state: ResponseState = { status: incomplete ? 'incomplete' : 'completed', output: this.items, usage: this.usage ? responseUsage(this.usage) : null, incomplete };
    const response = this.snapshot(state);
    out += this.event(incomplete ? 'response.incomplete' : 'response.completed', { response });
    return { text: out, response, output: this.items };
  }

  /**
   * A failure after the stream started: the contract's `error` event (its code and the request
   * id; the official SDKs raise it), then response.failed with what was produced so far.
   */
  fail(err: GatewayError, requestId: string): { text: string; response: Json; output: Json[] } {
    for (const item of this.items) if (item.status === 'in_progress') item.status = 'incomplete';
    const error = this.opening() + this.event('error', responsesErrorEvent(err, requestId));
    const state: ResponseState = { status: 'failed', output: this.items, usage: this.usage ? responseUsage(this.usage) : null, error: { code: failedCode(err.entry.status), message: err.message } };
    const response = this.snapshot(state);
    return { text: error + this.event('response.failed', { response }), response, output: this.items };
  }

  private snapshot(state: ResponseState): Json {
    return responseObject(this.shell, state);
  }

  private event(type: string, fields: Json): string {
    return `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: this.seq++, ...fields })}\n\n`;
  }

  private chunk(c: Chunk): string {
    if (c.usage) this.usage = c.usage;
    const choice = c.choices?.[0];
    if (!choice) return '';
    let out = '';
    const d = choice.delta;
    const piece = d?.content ?? d?.refusal;
    if (piece) {
      if (!this.text) out += this.closeCalls('completed') + this.openText();
      const t = this.text!;
      t.text += piece;
      out += this.event('response.output_text.delta', { item_id: t.id, output_index: t.index, content_index: 0, delta: piece, logprobs: [] });
    }
    for (const tc of d?.tool_calls ?? []) {
      const key = tc.index ?? 0;
      let call = this.calls.get(key);
      if (!call) {
        if (this.text) out += this.closeText('completed');
        call = { kind: 'call', id: itemId('fc'), index: this.items.length, callId: tc.id ?? itemId('fc'), name: tc.function?.name ?? '', args: '' };
        this.calls.set(key, call);
        const item = functionCallItem(call.id, call.callId, call.name, '', 'in_progress');
        this.items.push(item);
        out += this.event('response.output_item.added', { output_index: call.index, item });
      }
      const args = tc.function?.arguments;
      if (args) {
        call.args += args;
        out += this.event('response.function_call_arguments.delta', { item_id: call.id, output_index: call.index, delta: args });
      }
    }
    if (choice.finish_reason) this.finishReason = choice.finish_reason;
    return out;
  }

  private openText(): string {
    const t: OpenText = { kind: 'text', id: itemId('msg'), index: this.items.length, text: '' };
    this.text = t;
    const item = messageOutputItem(t.id, '', 'in_progress');
    this.items.push(item);
    return this.event('response.output_item.added', { output_index: t.index, item })
      + this.event('response.content_part.added', { item_id: t.id, output_index: t.index, content_index: 0, part: outputTextPart('') });
  }

  private closeText(status: 'completed' | 'incomplete'): string {
    const t = this.text;
    if (!t) return '';
    this.text = undefined;
    const item = messageOutputItem(t.id, t.text, status);
    this.items[t.index] = item;
    return this.event('response.output_text.done', { item_id: t.id, output_index: t.index, content_index: 0, text: t.text, logprobs: [] })
      + this.event('response.content_part.done', { item_id: t.id, output_index: t.index, content_index: 0, part: outputTextPart(t.text) })
      + this.event('response.output_item.done', { output_index: t.index, item });
  }

  private closeCalls(status: 'completed' | 'incomplete'): string {
    let out = '';
    for (const call of this.calls.values()) {
      const item = functionCallItem(call.id, call.callId, call.name, call.args, status);
      this.items[call.index] = item;
      out += this.event('response.function_call_arguments.done', { item_id: call.id, output_index: call.index, name: call.name, arguments: call.args })
        + this.event('response.output_item.done', { output_index: call.index, item });
    }
    this.calls.clear();
    return out;
  }

  private closeAll(status: 'completed' | 'incomplete'): string {
    // In output_index order: text opened before calls closes first, and the reverse.
    const textFirst = this.text !== undefined && [...this.calls.values()].every((c) => c.index > this.text!.index);
    return textFirst ? this.closeText(status) + this.closeCalls(status) : this.closeCalls(status) + this.closeText(status);
  }
}
