// The wire shapes of a plan: the JSON answer and the stream chunks of chat and completions, as
// OpenAI sends them (message.refusal, tool_calls deltas, logprobs per chunk). Logprob objects are
// built only for choices that carry logprobs: a plain request allocates what it did before.
import type { GeneratedChoice } from './generate.js';
import { chatLogprobs, completionLogprobs } from './logprobs.js';

type Body = Record<string, unknown>;

export interface PlanHead {
  id: string;
  created: number;
  model: string;
}

function toolCalls(c: GeneratedChoice): Body[] {
  const call = c.toolCall!;
  return [{ id: call.id, type: 'function', function: { name: call.name, arguments: c.tokens.join('') } }];
}

export function chatBody(head: PlanHead, choices: GeneratedChoice[], usage: unknown): Body {
  return {
    id: head.id,
    object: 'chat.completion',
    created: head.created,
    model: head.model,
    choices: choices.map((c, index) => ({
      index,
      message: c.toolCall
        ? { role: 'assistant', content: null, refusal: null, tool_calls: toolCalls(c) }
        : { role: 'assistant', content: c.tokens.join(''), refusal: null },
      logprobs: c.logprobs ? chatLogprobs(c.logprobs) : null,
      finish_reason: c.finishReason,
    })),
    usage,
  };
}

export function completionBody(head: PlanHead, choices: GeneratedChoice[], usage: unknown): Body {
  return {
    id: head.id,
    object: 'text_completion',
    created: head.created,
    model: head.model,
    choices: choices.map((c, index) => ({
      index,
      text: c.echo === undefined ? c.tokens.join('') : c.echo + c.tokens.join(''),
      logprobs: c.logprobs ? completionLogprobs(c.logprobs) : null,
      finish_reason: c.finishReason,
    })),
    usage,
  };
}

/** Builds the chunks of one stream; `head` holds id, object, created and model. */
export class ChunkWriter {
  private readonly chat: boolean;

  constructor(private readonly head: Body, private readonly choices: GeneratedChoice[]) {
    this.chat = head.object === 'chat.completion.chunk';
  }

  /** The chunk that opens a choice: chat's role (and, for a tool call, its id and name); completions' echo. */
  opening(index: number): Body | undefined {
    const c = this.choices[index]!;
    if (!this.chat) {
      if (c.echo === undefined) return undefined;
      return { ...this.head, choices: [{ index, text: c.echo, logprobs: c.logprobs ? completionLogprobs([]) : null, finish_reason: null }] };
    }
    const delta = c.toolCall
      ? { role: 'assistant', content: null, tool_calls: [{ index: 0, id: c.toolCall.id, type: 'function', function: { name: c.toolCall.name, arguments: '' } }] }
      : { role: 'assistant', content: '' };
    return { ...this.head, choices: [{ index, delta, logprobs: null, finish_reason: null }] };
  }

  /** The chunk of a choice's token at `step`. */
  token(index: number, step: number): Body {
    const c = this.choices[index]!;
    const tok = c.tokens[step]!;
    const lp = c.logprobs?.[step];
    if (!this.chat) return { ...this.head, choices: [{ index, text: tok, logprobs: lp ? completionLogprobs([lp]) : null, finish_reason: null }] };
    const delta = c.toolCall ? { tool_calls: [{ index: 0, function: { arguments: tok } }] } : { content: tok };
    return { ...this.head, choices: [{ index, delta, logprobs: lp ? chatLogprobs([lp]) : null, finish_reason: null }] };
  }

  finish(index: number): Body {
    const reason = this.choices[index]!.finishReason;
    return this.chat
      ? { ...this.head, choices: [{ index, delta: {}, logprobs: null, finish_reason: reason }] }
      : { ...this.head, choices: [{ index, text: '', logprobs: null, finish_reason: reason }] };
  }
}
