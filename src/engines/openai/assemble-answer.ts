// A non-streaming request goes to an `openai` engine as a stream, and its JSON answer is put
// together here from the chunks. Why: hung engines (issue 13). A non-streamed answer says nothing
// until the whole generation is done, so an engine that accepted the request and will never
// answer looks exactly like one generating a long answer, and is found only at the total timeout
// (minutes). A stream's first chunk comes with the first token, so the first-token timeout applies
// to non-streaming requests too, and a hung engine is found within firstTokenMs.
//
// The answer is OpenAI's `chat.completion` or `text_completion` object: choices by index (n > 1,
// prompt arrays), each with its text, tool calls (assembled from their deltas by index), logprobs
// and finish reason; the usage the engine reported (include_usage is always asked for); id,
// created, system_fingerprint and service_tier from the chunks; `model` the client's model id.
//
// It is on the hot path, so each chunk is parsed once at most: a chunk that is the previous plain
// content chunk with only its text changed (most of a stream, see chunk-template.ts) is not parsed
// at all, its text is cut out of it. Strings are joined once, at the end.
import { GatewayError } from '../../errors/gateway-error.js';
import type { Usage } from '../types.js';
import { ChatChoice, CompletionChoice } from './assembled-choice.js';
import { ChunkTemplate } from './chunk-template.js';
import { parseEvent, toUsage } from './stream-event.js';

type Obj = Record<string, unknown>;

/** Choices of one answer at most (n × prompts): a chunk naming a higher index is not believed. */
const MAX_CHOICES = 65_536;

const MARKER = '"content":"';

function invalid(message: string, data?: string): GatewayError {
  return new GatewayError('upstream_invalid_response', { message, ...(data !== undefined && { upstreamBody: data.slice(0, 4096) }) });
}

/** A JSON string's characters (between its quotes, still escaped) as the string they stand for. */
function unescape(raw: string): string {
  return raw.indexOf('\\') === -1 ? raw : (JSON.parse(`"${raw}"`) as string);
}

function isEmpty(x: unknown): boolean {
  return x === undefined || x === null;
}

/**
 * A chunk whose only news is its one choice's delta.content: then a later chunk that differs from
 * it in that string alone adds that string and nothing else, and need not be parsed.
 */
function plainContent(event: Obj, choice: Obj): boolean {
  const delta = choice.delta as Obj | undefined;
  return isEmpty(event.usage) && typeof delta === 'object' && delta !== null && typeof delta.content === 'string'
    && isEmpty(delta.tool_calls) && isEmpty(delta.refusal) && isEmpty(delta.reasoning_content) && isEmpty(delta.reasoning)
    && isEmpty(choice.logprobs) && isEmpty(choice.finish_reason) && isEmpty(choice.stop_reason);
}

export class AnswerAssembler {
  private readonly chat: boolean;
  private readonly choices: Array<ChatChoice | CompletionChoice> = [];
  private id: string | undefined;
  private created: number | undefined;
  private systemFingerprint: string | undefined;
  private serviceTier: string | undefined;
  /** The engine's usage object as sent (with its token details), for the client. */
  private usageBody: unknown;
  /** The usage as the ledger reads it. */
  usage: Usage | undefined;
  private readonly template = new ChunkTemplate();
  /** The choice the learned template's content belongs to; undefined while nothing is learned. */
  private templateChoice: ChatChoice | undefined;

  constructor(endpoint: 'chat' | 'completions', private readonly requestId: string) {
    this.chat = endpoint === 'chat';
  }

  /** Takes one SSE data payload (not `[DONE]`). An error event or a payload that is not a chunk throws. */
  add(data: string): void {
    const owner = this.templateChoice;
    if (owner !== undefined) {
      const end = this.template.contentEnd(data);
      if (end !== -1) {
        owner.addContent(unescape(data.slice(this.template.contentStart, end)));
        return;
      }
    }
    const event = parseEvent(data) as Obj;
    if (event.error !== undefined) {
      throw new GatewayError('upstream_unknown_error', { message: 'The inference engine failed during the stream.', upstreamBody: data.slice(0, 4096) });
    }
    if (this.id === undefined && typeof event.id === 'string') this.id = event.id;
    if (this.created === undefined && typeof event.created === 'number') this.created = event.created;
    if (this.systemFingerprint === undefined && typeof event.system_fingerprint === 'string') this.systemFingerprint = event.system_fingerprint;
    if (this.serviceTier === undefined && typeof event.service_tier === 'string') this.serviceTier = event.service_tier;
    if (typeof event.usage === 'object' && event.usage !== null) {
      // The last one counts: engines with continuous usage stats send a running total in every chunk.
      this.usageBody = event.usage;
      this.usage = toUsage(event.usage);
    }
    const list = event.choices as unknown[];
    let last: ChatChoice | CompletionChoice | undefined;
    for (const c of list) {
      if (typeof c !== 'object' || c === null) throw invalid('The inference engine sent a choice that is not an object.', data);
      const choice = c as Obj;
      last = this.choiceAt(choice.index === undefined ? 0 : choice.index, data);
      last.add(choice);
    }
    this.learn(data, event, list.length === 1 ? last : undefined);
  }

  private choiceAt(index: unknown, data: string): ChatChoice | CompletionChoice {
    if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index >= MAX_CHOICES) {
      throw invalid('The inference engine sent a choice without a valid index.', data);
    }
    return (this.choices[index] ??= this.chat ? new ChatChoice(index) : new CompletionChoice(index));
  }

  /**
   * Learns the template from a plain content chunk of one chat choice. The template's content
   * string must be that choice's delta.content: checked by its value, and by its being the only
   * `"content":"` in the payload.
   */
  private learn(data: string, event: Obj, only: ChatChoice | CompletionChoice | undefined): void {
    if (!(only instanceof ChatChoice)) return;
    const choice = (event.choices as Obj[])[0]!;
    if (plainContent(event, choice) && this.template.learn(data)) {
      const start = this.template.contentStart;
      const end = this.template.contentEnd(data);
      if (unescape(data.slice(start, end)) === (choice.delta as Obj).content && data.indexOf(MARKER, end) === -1) {
        this.templateChoice = only;
        return;
      }
    }
    this.template.forget();
    this.templateChoice = undefined;
  }

  /** The answer's JSON text. Throws upstream_invalid_response when the stream left it incomplete. */
  text(clientModel: string): string {
    const { choices } = this;
    if (choices.length === 0) throw invalid('The inference engine ended the stream without an answer.');
    const built: Obj[] = new Array<Obj>(choices.length);
    for (let i = 0; i < choices.length; i++) {
      const c = choices[i];
      if (c === undefined) throw invalid(`The inference engine's stream had no choice ${i}.`);
      if (c.finishReason === null) throw invalid('The inference engine ended the stream before the answer was finished.');
      built[i] = c.build();
    }
    const body: Obj = {
      id: this.id ?? `${this.chat ? 'chatcmpl' : 'cmpl'}-${this.requestId}`,
      object: this.chat ? 'chat.completion' : 'text_completion',
      created: this.created ?? Math.floor(Date.now() / 1000),
      model: clientModel,
      choices: built,
    };
    if (this.usageBody !== undefined) body.usage = this.usageBody;
    if (this.serviceTier !== undefined) body.service_tier = this.serviceTier;
    if (this.systemFingerprint !== undefined) body.system_fingerprint = this.systemFingerprint;
    return JSON.stringify(body);
  }
}
