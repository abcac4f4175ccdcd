// One streamed chat request as a user sees it: how long until the first token, how many tokens
// came, and how it ended (answered, shed by admission, failed, or still unfinished when the run
// gave up on it). A non-streamed request (the failover benchmark sends both kinds) is read the same
// way: its JSON answer is its first and last token at once. A caller that needs the streamed answer
// itself (the prefix benchmark appends it to the conversation) gets each delta through `onDelta`.
import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher } from 'undici';
import { request } from 'undici';

export type Ending = 'completed' | 'shed' | 'failed' | 'unfinished';

export interface Outcome {
  ending: Ending;
  status: number | undefined;
  /** The error code of a refusal or failure (server_overloaded, queue_timeout, …). */
  code: string | undefined;
  /** Send to the first event carrying generated content; for a JSON answer, to the whole answer. */
  ttftMs: number | undefined;
  /** completion_tokens of the streamed usage event (completed requests). */
  tokens: number;
  /** Send to the end of the stream, or to the moment it was given up. */
  elapsedMs: number;
  /** A refusal's retry-after header (the issue: every shed carries retry advice). */
  retryAfter: string | undefined;
  /** performance.now() when it was sent: places it against events of the run (an engine killed). */
  sentAt: number;
  /** Send to the response's headers: for a stream, its first byte. */
  headersMs: number | undefined;
  /** The gateway's x-sluice-attempts and x-sluice-deployment headers: what routing did. */
  attempts: number | undefined;
  deployment: string | undefined;
}

/** Codes of admission's refusals: the request was shed, not broken. */
const SHED_CODES = new Set(['server_overloaded', 'queue_timeout']);

/** A streamed tool call's piece: the first carries its id and name, later ones more arguments. */
export interface ToolCallDelta {
  index?: number;
  id?: string;
  type?: string;
  function?: { name?: string; arguments?: string };
}

export interface Delta {
  content?: string | null;
  tool_calls?: ToolCallDelta[];
}

interface StreamEvent {
  choices?: Array<{ delta?: Delta }>;
  usage?: { completion_tokens?: number };
  error?: { code?: string };
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

export interface StreamRequestSpec {
  dispatcher: Dispatcher;
  url: string;
  apiKey: string;
  body: string;
  /** Aborting gives the request up: it ends as `unfinished`. */
  signal: AbortSignal;
  /** Called with each streamed choice's delta, in order. */
  onDelta?: (delta: Delta) => void;
}

/** Generated content: text, or a tool call (whose opening chunk comes with the first token). */
function generates(d: Delta | undefined): boolean {
  return (typeof d?.content === 'string' && d.content.length > 0) || (d?.tool_calls?.length ?? 0) > 0;
}

export async function streamRequest(spec: StreamRequestSpec): Promise<Outcome> {
  const sentAt = performance.now();
  const out: Outcome = { ending: 'failed', status: undefined, code: undefined, ttftMs: undefined, tokens: 0, elapsedMs: 0, retryAfter: undefined, sentAt, headersMs: undefined, attempts: undefined, deployment: undefined };
  try {
    const res = await request(spec.url, {
      method: 'POST',
      dispatcher: spec.dispatcher,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${spec.apiKey}` },
      body: spec.body,
      signal: spec.signal,
    });
    out.status = res.statusCode;
    out.headersMs = performance.now() - sentAt;
    const attempts = header(res.headers, 'x-sluice-attempts');
    out.attempts = attempts === undefined ? undefined : Number(attempts);
    out.deployment = header(res.headers, 'x-sluice-deployment');
    if (res.statusCode !== 200) {
      const text = await res.body.text();
      out.code = codeOf(text);
      out.retryAfter = header(res.headers, 'retry-after');
      out.ending = res.statusCode === 503 && out.code !== undefined && SHED_CODES.has(out.code) ? 'shed' : 'failed';
      return out;
    }
    if (!(header(res.headers, 'content-type') ?? '').includes('text/event-stream')) return readJsonAnswer(await res.body.text(), out);
    let buffered = '';
    let done = false;
    for await (const chunk of res.body) {
      buffered += (chunk as Buffer).toString('utf8');
      let cut: number;
      while ((cut = buffered.indexOf('\n\n')) !== -1) {
        const event = buffered.slice(0, cut);
        buffered = buffered.slice(cut + 2);
        if (!event.startsWith('data: ')) continue;
        const data = event.slice(6);
        if (data === '[DONE]') {
          done = true;
          continue;
        }
        const parsed = JSON.parse(data) as StreamEvent;
        if (parsed.error) {
          out.code = parsed.error.code ?? 'stream_error';
          continue;
        }
        if (out.ttftMs === undefined && parsed.choices?.some((c) => generates(c.delta))) {
          out.ttftMs = performance.now() - sentAt;
        }
        if (spec.onDelta) for (const c of parsed.choices ?? []) if (c.delta) spec.onDelta(c.delta);
        if (parsed.usage?.completion_tokens !== undefined) out.tokens = parsed.usage.completion_tokens;
      }
    }
    out.ending = done && out.code === undefined && out.ttftMs !== undefined ? 'completed' : 'failed';
    out.code ??= done ? undefined : 'stream_cut';
    return out;
  } catch (err) {
    if (spec.signal.aborted) out.ending = 'unfinished';
    else out.code = (err as Error).message;
    return out;
  } finally {
    out.elapsedMs = performance.now() - sentAt;
  }
}

/** A non-streamed answer: complete when it parses and has choices. */
function readJsonAnswer(text: string, out: Outcome): Outcome {
  out.ttftMs = performance.now() - out.sentAt;
  let answer: { choices?: unknown[]; usage?: { completion_tokens?: number } } | undefined;
  try {
    answer = JSON.parse(text) as typeof answer;
  } catch {
    answer = undefined;
  }
  out.tokens = answer?.usage?.completion_tokens ?? 0;
  out.ending = Array.isArray(answer?.choices) && answer.choices.length > 0 ? 'completed' : 'failed';
  if (out.ending === 'failed') out.code = 'invalid_answer';
  return out;
}

function codeOf(text: string): string | undefined {
  try {
    return (JSON.parse(text) as StreamEvent).error?.code;
  } catch {
    return undefined;
  }
}
