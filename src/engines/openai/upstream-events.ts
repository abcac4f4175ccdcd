// An engine's SSE stream as batches of payloads for the client, read as it arrives: chunks are
// parsed synchronously in undici's callback, and what they yield waits for the consumer; past
// HIGH_WATER waiting characters the upstream pauses. Shared by chat/completions streams and the
// Responses API's native streams, which differ only in what they check in each payload and in
// what ends them ([DONE], or a terminal event).
import { StringDecoder } from 'node:string_decoder';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { GatewayError } from '../../errors/gateway-error.js';
import type { Cancellation } from '../../server/cancellation.js';
import { connectionError } from './connection-error.js';
import type { UpstreamResponse } from './exchange.js';
import { dropIfNotEnded } from './read-answer-stream.js';

/** Characters parsed and not yet taken by the client's writer, past which the upstream pauses. */
const HIGH_WATER = 256 * 1024;

/**
 * Checks one payload: returns it (or a rewrite) for the client, or undefined to drop it; throws a
 * catalog error for a bad one; calls `end()` when it is the stream's last (after it, the rest is
 * ignored). `[DONE]` is never passed to it.
 */
export type AcceptPayload = (data: string, end: () => void) => string | undefined;

export interface UpstreamEvents {
  events: AsyncIterableIterator<string[]>;
  /** The stream ended cleanly and every payload was taken. */
  complete(): boolean;
}

/**
 * `doneEnds`: false where a terminal event, not `[DONE]`, ends a complete stream (the Responses
 * API): a `[DONE]` before it is then a stream cut short.
 */
export function upstreamEvents(res: UpstreamResponse, cancel: Cancellation, accept: AcceptPayload, doneEnds = true): UpstreamEvents {
  let ready: string[] = [];
  let readyChars = 0;
  let done = false;
  let ended = false;
  let failure: unknown;
  let wake: (() => void) | undefined;
  const end = () => {
    done = true;
    dropIfNotEnded(res, () => ended);
  };
  const decoder = new StringDecoder('utf8');
  const parser = createParser({
    onEvent: (e: EventSourceMessage) => {
      if (done || failure !== undefined) return;
      if (e.data === '[DONE]') {
        if (doneEnds) end();
        else failure = new GatewayError('upstream_invalid_response', { message: 'The inference engine ended the stream early.' });
        return;
      }
      try {
        const out = accept(e.data, end);
        if (out !== undefined) {
          ready.push(out);
          readyChars += out.length;
        }
      } catch (err) {
        failure = err;
      }
    },
  });
  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  res.attach(
    (chunk) => {
      parser.feed(decoder.write(chunk));
      notify();
      return readyChars < HIGH_WATER && failure === undefined;
    },
    (...err) => {
      if (err.length > 0 && failure === undefined && !done) failure = connectionError(err[0], cancel);
      ended = true;
      notify();
    },
  );

  const events: AsyncIterableIterator<string[]> = {
    [Symbol.asyncIterator]() {
      return this;
    },
    async next(): Promise<IteratorResult<string[]>> {
      for (;;) {
        // What arrived before a bad event still reaches the client, then the error does.
        if (ready.length > 0) {
          const batch = ready;
          ready = [];
          readyChars = 0;
          if (failure === undefined) res.resume();
          return { done: false, value: batch };
        }
        if (failure !== undefined) {
          res.abort();
          throw failure;
        }
        // After the end the rest is ignored, and the connection stays in the pool.
        if (done) return { done: true, value: undefined };
        if (ended) throw new GatewayError('upstream_invalid_response', { message: 'The inference engine ended the stream early.' });
        await new Promise<void>((r) => (wake = r));
      }
    },
    async return(): Promise<IteratorResult<string[]>> {
      if (!ended) res.abort();
      return { done: true, value: undefined };
    },
  };
  return { events, complete: () => done && ready.length === 0 && failure === undefined };
}
