// Reads the stream a non-streaming request was sent upstream as (assemble-answer.ts says why) into
// its answer: the first event tells the gateway the first token came (the first-token timeout
// stops there), [DONE] ends it. The first event counts whatever it holds, as it does for a stream
// to the client (execute.ts): engines send their role-only opening chunk with the first token
// (vLLM and OpenAI do), and what is to be found is an engine that sends nothing; response headers
// alone do not count. A stream that breaks off, ends before [DONE] or carries an error fails as
// a stream to the client would before its first byte: with the contract's status.
import { StringDecoder } from 'node:string_decoder';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { GatewayError } from '../../errors/gateway-error.js';
import type { Cancellation } from '../../server/cancellation.js';
import type { AnswerAssembler } from './assemble-answer.js';
import { connectionError } from './connection-error.js';
import type { UpstreamResponse } from './exchange.js';

/** After [DONE], how long an engine may take to end its response before its connection is dropped. */
export const DONE_GRACE_MS = 1_000;

/**
 * After [DONE] the rest is ignored, but an engine that never ends its response would hold a pool
 * connection for good: it gets DONE_GRACE_MS to end, then the connection is dropped. (Checked on
 * the next turn: the response's end usually comes with [DONE], parsed just after it.)
 */
export function dropIfNotEnded(res: UpstreamResponse, ended: () => boolean): void {
  setImmediate(() => {
    if (!ended()) setTimeout(() => ended() || res.abort(), DONE_GRACE_MS).unref();
  });
}

/** Feeds the upstream stream's payloads to `answer` until [DONE]; rejects with a catalog error. */
export function readAnswerStream(res: UpstreamResponse, answer: AnswerAssembler, cancel: Cancellation, onFirstToken: (() => void) | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    let settled = false;
    let ended = false;
    let first = onFirstToken;
    const fail = (err: unknown) => {
      settled = true;
      if (!ended) res.abort();
      reject(err);
    };
    const decoder = new StringDecoder('utf8');
    const parser = createParser({
      onEvent: (e: EventSourceMessage) => {
        if (settled) return;
        if (first) {
          first();
          first = undefined;
        }
        if (e.data === '[DONE]') {
          settled = true;
          dropIfNotEnded(res, () => ended);
          resolve();
          return;
        }
        try {
          answer.add(e.data);
        } catch (err) {
          fail(err);
        }
      },
    });
    res.attach(
      (chunk) => {
        if (!settled) parser.feed(decoder.write(chunk));
        return true;
      },
      (...err) => {
        ended = true;
        if (settled) return;
        settled = true;
        reject(err.length > 0 ? connectionError(err[0], cancel) : new GatewayError('upstream_invalid_response', { message: 'The inference engine ended the stream early.' }));
      },
    );
  });
}
