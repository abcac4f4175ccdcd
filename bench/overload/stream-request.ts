// One streamed chat request as a user sees it: how long until the first token, how many tokens
// came, and how it ended (answered, shed by admission, failed, or still unfinished when the run
// gave up on it).
import type { Dispatcher } from 'undici';
import { request } from 'undici';

export type Ending = 'completed' | 'shed' | 'failed' | 'unfinished';

export interface Outcome {
  ending: Ending;
  status: number | undefined;
  /** The error code of a refusal or failure (server_overloaded, queue_timeout, …). */
  code: string | undefined;
  /** Send to the first event carrying generated content. */
  ttftMs: number | undefined;
  /** completion_tokens of the streamed usage event (completed requests). */
  tokens: number;
  /** Send to the end of the stream, or to the moment it was given up. */
  elapsedMs: number;
  /** A refusal's retry-after header (the issue: every shed carries retry advice). */
  retryAfter: string | undefined;
}

/** Codes of admission's refusals: the request was shed, not broken. */
const SHED_CODES = new Set(['server_overloaded', 'queue_timeout']);

interface StreamEvent {
  choices?: Array<{ delta?: { content?: string | null } }>;
  usage?: { completion_tokens?: number };
  error?: { code?: string };
}

export interface StreamRequestSpec {
  dispatcher: Dispatcher;
  url: string;
  apiKey: string;
  body: string;
  /** Aborting gives the request up: it ends as `unfinished`. */
  signal: AbortSignal;
}

export async function streamRequest(spec: StreamRequestSpec): Promise<Outcome> {
  const sentAt = performance.now();
  const out: Outcome = { ending: 'failed', status: undefined, code: undefined, ttftMs: undefined, tokens: 0, elapsedMs: 0, retryAfter: undefined };
  try {
    const res = await request(spec.url, {
      method: 'POST',
      dispatcher: spec.dispatcher,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${spec.apiKey}` },
      body: spec.body,
      signal: spec.signal,
    });
    out.status = res.statusCode;
    if (res.statusCode !== 200) {
      const text = await res.body.text();
      out.code = codeOf(text);
      const retryAfter = res.headers['retry-after'];
      out.retryAfter = Array.isArray(retryAfter) ? retryAfter[0] : retryAfter;
      out.ending = res.statusCode === 503 && out.code !== undefined && SHED_CODES.has(out.code) ? 'shed' : 'failed';
      return out;
    }
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
        if (out.ttftMs === undefined && parsed.choices?.some((c) => typeof c.delta?.content === 'string' && c.delta.content.length > 0)) {
          out.ttftMs = performance.now() - sentAt;
        }
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

function codeOf(text: string): string | undefined {
  try {
    return (JSON.parse(text) as StreamEvent).error?.code;
  } catch {
    return undefined;
  }
}
