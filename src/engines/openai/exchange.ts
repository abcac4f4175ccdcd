// One request to an upstream engine through undici's dispatcher, with a handler of our own instead
// of `pool.request`. The request API wraps every body in a Node Readable and listens to the abort
// signal through it; measured under the benchmark's load, that machinery cost about as much as
// everything else the transport does. Here a JSON answer is collected as chunks, and a stream's
// chunks go straight to a callback, with undici's own pause/resume as backpressure. Cancellation
// is our own (server/cancellation.ts), not an AbortSignal listener.
import type { Dispatcher } from 'undici';
import type { Cancellation } from '../../server/cancellation.js';

export type UpstreamHeaders = Record<string, string | string[] | undefined>;

export interface UpstreamHead {
  statusCode: number;
  headers: UpstreamHeaders;
}

export interface BufferedResponse extends UpstreamHead {
  body: string;
}

/** Receives a stream's chunks; returns false to pause the upstream until `resume()`. */
export type ChunkSink = (chunk: Buffer) => boolean;

export interface StreamingResponse extends UpstreamHead {
  /**
   * Hands the stream's chunks to `sink`, starting with any that arrived with the headers (undici
   * parses a packet's headers and body in one go, before the caller can attach).
   */
  attach(sink: ChunkSink): void;
  /** Resolves when the stream ended, rejects on a connection failure or abort. */
  ended: Promise<void>;
  /** Continues a stream the sink paused. */
  resume(): void;
  /** Stops the upstream request (the client left, or the stream turned out bad). */
  abort(): void;
}

const decoder = new TextDecoder();

function concat(chunks: Buffer[]): string {
  if (chunks.length === 1) return decoder.decode(chunks[0]);
  return decoder.decode(Buffer.concat(chunks));
}

/**
 * Sends the request; `stream` says whether a 2xx answer is handed over chunk by chunk (then the
 * promise resolves at its headers) or collected whole. A non-2xx answer is always collected
 * whole, so its body can explain the failure.
 */
export function exchange(pool: Dispatcher, opts: Dispatcher.DispatchOptions, cancel: Cancellation, stream: true): Promise<StreamingResponse | BufferedResponse>;
export function exchange(pool: Dispatcher, opts: Dispatcher.DispatchOptions, cancel: Cancellation, stream: false): Promise<BufferedResponse>;
export function exchange(pool: Dispatcher, opts: Dispatcher.DispatchOptions, cancel: Cancellation, stream: boolean): Promise<StreamingResponse | BufferedResponse> {
  if (cancel.aborted) return Promise.reject(cancel.reason);
  return new Promise((resolve, reject) => {
    let controller: Dispatcher.DispatchController | undefined;
    let settled = false;
    const chunks: Buffer[] = [];
    let head: UpstreamHead | undefined;
    let streaming: StreamingResponse | undefined;
    let sink: ChunkSink = () => true;
    let endStream: (() => void) | undefined;
    let failStream: ((err: unknown) => void) | undefined;

    const finish = cancel.onAbort((reason) => controller?.abort(reason as Error));
    const fail = (err: unknown) => {
      finish();
      if (failStream) failStream(err);
      else if (!settled) {
        settled = true;
        reject(err);
      }
    };

    const handler: Dispatcher.DispatchHandler = {
      onRequestStart(c) {
        controller = c;
        if (cancel.aborted) c.abort(cancel.reason as Error);
      },
      onResponseStart(c, statusCode, headers) {
        head = { statusCode, headers: headers as UpstreamHeaders };
        if (!stream || statusCode < 200 || statusCode >= 300) return;
        const ended = new Promise<void>((res, rej) => {
          endStream = res;
          failStream = rej;
        });
        // Rejections are read by whoever awaits `ended`; an abandoned stream must not crash us.
        ended.catch(() => {});
        const early: Buffer[] = [];
        // Until the caller attaches, chunks wait here (and do not pause the upstream).
        sink = (chunk) => early.push(chunk) > 0;
        streaming = {
          ...head,
          attach(s) {
            sink = s;
            let open = true;
            for (const chunk of early) open = s(chunk) && open;
            early.length = 0;
            if (!open) c.pause();
          },
          ended,
          resume: () => c.resume(),
          abort: () => c.abort(new Error('upstream stream abandoned')),
        };
        settled = true;
        resolve(streaming);
      },
      onResponseData(c, chunk) {
        if (streaming) {
          if (!sink(chunk)) c.pause();
        } else chunks.push(chunk);
      },
      onResponseEnd() {
        finish();
        if (endStream) endStream();
        else if (!settled) {
          settled = true;
          resolve({ ...head!, body: concat(chunks) });
        }
      },
      onResponseError(_c, err) {
        fail(err);
      },
    };
    try {
      pool.dispatch(opts, handler);
    } catch (err) {
      fail(err);
    }
  });
}
