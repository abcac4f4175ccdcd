// One choice of a non-streamed answer, put together from the deltas of its stream chunks (see
// assemble-answer.ts for why answers are assembled at all). Text arrives in pieces, kept in arrays
// and joined once at the end; logprob entries are the engine's parsed objects, appended as they
// come. Only what OpenAI's non-streamed answer holds is kept, plus the extensions engines send in
// both forms (vLLM's `stop_reason`, and `reasoning_content` / `reasoning` of reasoning models).
type Obj = Record<string, unknown>;

/** A tool call's id, type and name come once (in its first delta); its arguments in pieces. */
interface ToolCallParts {
  id: string | undefined;
  type: string | undefined;
  name: string | undefined;
  arguments: string[];
}

/** Tool calls of one answer at most: a delta naming a higher index is not believed. */
const MAX_TOOL_CALLS = 1024;

function isObject(x: unknown): x is Obj {
  return typeof x === 'object' && x !== null;
}

/** Appends the items of `items`, if it is an array, to `to` (created on first use). */
function appendAll(to: unknown[] | undefined, items: unknown): unknown[] | undefined {
  if (!Array.isArray(items)) return to;
  const out = to ?? [];
  for (const item of items) out.push(item);
  return out;
}

abstract class AssembledChoice {
  finishReason: unknown = null;
  /** vLLM's stop_reason (the stop string or token id); undefined when the engine sends none. */
  private stopReason: unknown = undefined;

  constructor(readonly index: number) {}

  /** Takes one chunk's entry for this choice. */
  abstract add(choice: Obj): void;

  /** The choice as OpenAI's non-streamed answer has it. */
  abstract build(): Obj;

  protected addEnd(choice: Obj): void {
    const finish = choice.finish_reason;
    if (finish !== null && finish !== undefined) this.finishReason = finish;
    const stop = choice.stop_reason;
    if (stop !== undefined && (stop !== null || this.stopReason === undefined)) this.stopReason = stop;
  }

  protected withEnd(out: Obj): Obj {
    out.finish_reason = this.finishReason;
    if (this.stopReason !== undefined) out.stop_reason = this.stopReason;
    return out;
  }
}

export class ChatChoice extends AssembledChoice {
  private role = 'assistant';
  private content: string[] | undefined;
  private refusal: string[] | undefined;
  private reasoningContent: string[] | undefined;
  private reasoning: string[] | undefined;
  private toolCalls: ToolCallParts[] | undefined;
  private logprobs: { content: unknown[] | undefined; refusal: unknown[] | undefined } | undefined;

  /** A content piece known to be this choice's only news in its chunk (the template's fast path). */
  addContent(text: string): void {
    (this.content ??= []).push(text);
  }

  add(choice: Obj): void {
    const delta = choice.delta;
    if (isObject(delta)) {
      if (typeof delta.content === 'string') (this.content ??= []).push(delta.content);
      if (typeof delta.role === 'string') this.role = delta.role;
      if (delta.tool_calls != null) this.addToolCalls(delta.tool_calls);
      if (typeof delta.refusal === 'string') (this.refusal ??= []).push(delta.refusal);
      if (typeof delta.reasoning_content === 'string') (this.reasoningContent ??= []).push(delta.reasoning_content);
      if (typeof delta.reasoning === 'string') (this.reasoning ??= []).push(delta.reasoning);
    }
    const lp = choice.logprobs;
    if (isObject(lp)) {
      const acc = (this.logprobs ??= { content: undefined, refusal: undefined });
      acc.content = appendAll(acc.content, lp.content);
      acc.refusal = appendAll(acc.refusal, lp.refusal);
    }
    this.addEnd(choice);
  }

  private addToolCalls(deltas: unknown): void {
    if (!Array.isArray(deltas)) return;
    const calls = (this.toolCalls ??= []);
    for (let i = 0; i < deltas.length; i++) {
      const d = deltas[i] as unknown;
      if (!isObject(d)) continue;
      const at = d.index === undefined ? i : d.index;
      if (typeof at !== 'number' || !Number.isInteger(at) || at < 0 || at >= MAX_TOOL_CALLS) continue;
      const call = (calls[at] ??= { id: undefined, type: undefined, name: undefined, arguments: [] });
      if (typeof d.id === 'string' && d.id !== '' && call.id === undefined) call.id = d.id;
      if (typeof d.type === 'string' && call.type === undefined) call.type = d.type;
      const fn = d.function;
      if (!isObject(fn)) continue;
      if (typeof fn.name === 'string' && fn.name !== '' && call.name === undefined) call.name = fn.name;
      if (typeof fn.arguments === 'string') call.arguments.push(fn.arguments);
    }
  }

  build(): Obj {
    const calls = this.toolCalls?.filter((c) => c !== undefined);
    const hasCalls = calls !== undefined && calls.length > 0;
    let content: string | null = this.content ? this.content.join('') : null;
    // The opening delta's empty content is no content when the answer is a tool call (OpenAI: null).
    if (hasCalls && content === '') content = null;
    const message: Obj = { role: this.role, content, refusal: this.refusal ? this.refusal.join('') : null };
    if (hasCalls) {
      message.tool_calls = calls.map((c) => ({ id: c.id ?? '', type: c.type ?? 'function', function: { name: c.name ?? '', arguments: c.arguments.join('') } }));
    }
    if (this.reasoningContent) message.reasoning_content = this.reasoningContent.join('');
    if (this.reasoning) message.reasoning = this.reasoning.join('');
    const lp = this.logprobs;
    return this.withEnd({ index: this.index, message, logprobs: lp ? { content: lp.content ?? null, refusal: lp.refusal ?? null } : null });
  }
}

/** Completions' logprobs: four parallel arrays, each chunk's appended (text_offset is absolute). */
interface CompletionLogprobs {
  tokens: unknown[];
  token_logprobs: unknown[];
  top_logprobs: unknown[];
  text_offset: unknown[];
}

export class CompletionChoice extends AssembledChoice {
  private readonly text: string[] = [];
  private logprobs: CompletionLogprobs | undefined;

  add(choice: Obj): void {
    if (typeof choice.text === 'string') this.text.push(choice.text);
    const lp = choice.logprobs;
    if (isObject(lp)) {
      const acc = (this.logprobs ??= { tokens: [], token_logprobs: [], top_logprobs: [], text_offset: [] });
      appendAll(acc.tokens, lp.tokens);
      appendAll(acc.token_logprobs, lp.token_logprobs);
      appendAll(acc.top_logprobs, lp.top_logprobs);
      appendAll(acc.text_offset, lp.text_offset);
    }
    this.addEnd(choice);
  }

  build(): Obj {
    return this.withEnd({ index: this.index, text: this.text.join(''), logprobs: this.logprobs ?? null });
  }
}
