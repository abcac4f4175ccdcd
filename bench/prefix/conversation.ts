// One conversation as its client runs it: send the whole history, read the streamed answer,
// append it and what comes next (the user's next message, or the tool's result when the agent
// called a tool), think, and send again. The next request never leaves before the last answer is
// in (a closed loop per conversation), so a slow deployment slows its conversations, as it would
// slow real users.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Dispatcher } from 'undici';
import { mulberry32 } from '../../src/sim/rng.js';
import { streamRequest, type Delta, type Outcome } from '../overload/stream-request.js';
import { maxTokens, nextMessage, openingMessage, thinkMs, toolResult, type ConversationPlan } from './workload.js';

export interface Turn extends Outcome {
  conversation: number;
  /** The request's place in its conversation, from 0. */
  turn: number;
}

export interface Target {
  /** The gateway's chat completions URL. */
  url: string;
  apiKey: string;
  dispatcher: Dispatcher;
  /** Aborted when the run gives up: the request in flight ends as unfinished, and no more are sent. */
  signal: AbortSignal;
  /** The model name for the next request. */
  model: () => string;
}

type Message = Record<string, unknown>;

/** The streamed answer, put back together: its text, or the tool call it made. */
class Answer {
  private text = '';
  private call: { id: string; name: string; arguments: string } | undefined;

  add(d: Delta): void {
    if (typeof d.content === 'string') this.text += d.content;
    for (const t of d.tool_calls ?? []) {
      if (t.id !== undefined) this.call = { id: t.id, name: t.function?.name ?? '', arguments: '' };
      if (this.call && t.function?.arguments) this.call.arguments += t.function.arguments;
    }
  }

  get toolCallId(): string | undefined {
    return this.call?.id;
  }

  message(): Message {
    if (!this.call) return { role: 'assistant', content: this.text };
    return { role: 'assistant', content: null, tool_calls: [{ id: this.call.id, type: 'function', function: { name: this.call.name, arguments: this.call.arguments } }] };
  }
}

export async function runConversation(plan: ConversationPlan, target: Target): Promise<Turn[]> {
  const rand = mulberry32(plan.seed);
  const { app } = plan;
  const messages: Message[] = [{ role: 'system', content: app.system }, { role: 'user', content: openingMessage(rand, app) }];
  const turns: Turn[] = [];
  for (let i = 0; i < plan.requests; i++) {
    // An agent calls a tool after each message of its user or harness, and remarks on each result
    // (the simulator answers a tool result in text).
    const wantCall = app.kind === 'agent' && messages.at(-1)!.role === 'user';
    const body = JSON.stringify({
      model: target.model(),
      messages,
      ...(app.tools && { tools: app.tools, tool_choice: wantCall ? 'required' : 'auto' }),
      max_tokens: maxTokens(rand, wantCall),
      stream: true,
      stream_options: { include_usage: true },
    });
    const answer = new Answer();
    const o = await streamRequest({ dispatcher: target.dispatcher, url: target.url, apiKey: target.apiKey, body, signal: target.signal, onDelta: (d) => answer.add(d) });
    turns.push({ ...o, conversation: plan.index, turn: i });
    // Without its answer the conversation cannot go on.
    if (o.ending !== 'completed' || i === plan.requests - 1) break;
    messages.push(answer.message());
    const callId = answer.toolCallId;
    messages.push(callId ? { role: 'tool', tool_call_id: callId, content: toolResult(rand) } : { role: 'user', content: nextMessage(rand, app) });
    try {
      await sleep(thinkMs(rand, app), undefined, { signal: target.signal });
    } catch {
      break;
    }
  }
  return turns;
}
