// One request to an upstream engine through undici's dispatcher, with a handler of our own instead
// of `pool.request`. The request API wraps every body in a Node Readable and listens to the abort
// signal through it; measured under the benchmark's load, that machinery cost about as much as
// everything else the transport does. Here a JSON answer is collected as chunks, and a stream's
// chunks go straight to a callback, with undici's own pause/resume as backpressure. Cancellation
// is our own (server/cancellation.ts), not an AbortSignal listener. One object per request is the
// handler, the promise's executor and, for a stream, the response: no closures per request.
import type { Dispatcher } from 'undici';
import type { IncomingHttpHeaders } from 'node:http';
import type { Cancellation } from '../../server/cancellation.js';

export type UpstreamHeaders = Record<string, string | string[] | undefined>;

/** Receives a stream's chunks; returns false to pause the upstream until `resume()`. */
export type ChunkSink = (chunk: Buffer) => boolean;

export interface UpstreamResponse {
  statusCode: number;
  headers: UpstreamHeaders;
  /**
   * A stream to attach to: one was asked for and the engine answered 2xx `text/event-stream`.
   * Any other answer was collected whole, in `body`.
   */
  readonly isStream: boolean;
  /** A collected answer's body. */
  readonly body: string;
  /**
   * Hands the stream's chunks to `sink`, starting with any that arrived with the headers (undici
   * parses a packet's headers and body in one go, before the caller can attach), and its end to
   * `onEnd`: no argument when it ended, the failure when the connection failed or was aborted.
   */
  attach(sink: ChunkSink, onEnd: (err?: unknown) => void): void;
  /** Continues a stream the sink paused. */
  resume(): void;
  /** Stops the upstream request (the client left, or the stream turned out bad). */
  abort(): void;
}

const decoder = new TextDecoder();

class Exchange implements Dispatcher.DispatchHandler, UpstreamResponse {
  statusCode = 0;
  headers: UpstreamHeaders = {};
  isStream = false;
  private controller: Dispatcher.DispatchController | undefined;
  private settled = false;
  private chunks: Buffer[] = [];
  private sink: ChunkSink | undefined;
  private onEnd: ((err?: unknown) => void) | undefined;
  /** How a stream ended before anyone attached: [] ended, [err] failed. */
  private endedEarly: [unknown?] | undefined;
  private readonly stopListening: () => void;

  constructor(
    private readonly cancel: Cancellation,
    private readonly stream: boolean,
    private readonly resolve: (r: UpstreamResponse) => void,
    private readonly reject: (err: unknown) => void,
    private readonly onCollectStart: (() => void) | undefined,
  ) {
    this.stopListening = cancel.onAbort((reason) => this.controller?.abort(reason as Error));
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.cancel.aborted) controller.abort(this.cancel.reason as Error);
  }

  onResponseStart(_c: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    this.statusCode = statusCode;
    this.headers = headers as UpstreamHeaders;
    // Anything but a 2xx event stream is collected whole, so its body can explain what went wrong.
    if (!this.stream || statusCode < 200 || statusCode >= 300 || !String(headers['content-type'] ?? '').includes('text/event-stream')) {
      this.onCollectStart?.();
      return;
    }
    this.isStream = true;
    this.settled = true;
    this.resolve(this);
  }

  onResponseData(c: Dispatcher.DispatchController, chunk: Buffer): void {
    // Until a stream's reader attaches, its chunks wait in `chunks` (and do not pause it).
    if (this.sink) {
      if (!this.sink(chunk)) c.pause();
    } else this.chunks.push(chunk);
  }

  onResponseEnd(): void {
    this.stopListening();
    if (this.isStream) this.end();
    else if (!this.settled) {
      this.settled = true;
      this.resolve(this);
    }
  }

  onResponseError(_c: Dispatcher.DispatchController, err: Error): void {
    this.stopListening();
    if (this.isStream) this.end(err);
    else if (!this.settled) {
      this.settled = true;
      this.reject(err);
    }
  }

  private end(...err: [unknown?]): void {
    if (this.onEnd) this.onEnd(...err);
    else this.endedEarly = err;
  }

  /** A collected answer's body (not for streams). */
  get body(): string {
    const { chunks } = this;
    return decoder.decode(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks));
  }

  attach(sink: ChunkSink, onEnd: (err?: unknown) => void): void {
    this.sink = sink;
    this.onEnd = onEnd;
    let open = true;
    for (const chunk of this.chunks) open = sink(chunk) && open;
    this.chunks = [];
    if (!open) this.controller?.pause();
    if (this.endedEarly) onEnd(...this.endedEarly);
  }

  resume(): void {
    this.controller?.resume();
  }

  abort(): void {
    this.controller?.abort(new Error('upstream stream abandoned'));
  }
}

/**
 * Sends the request; with `stream`, a 2xx event stream resolves at its headers and is read by
 * attaching to it (`isStream`); every other answer resolves once collected whole.
 * `onCollectStart` is called when an answer to be collected whole begins (its headers came): for
 * a non-streamed answer, that is when the engine began to answer.
 */
export function exchange(pool: Dispatcher, opts: Dispatcher.DispatchOptions, cancel: Cancellation, stream: boolean, onCollectStart?: () => void): Promise<UpstreamResponse> {
  if (cancel.aborted) return Promise.reject(cancel.reason);
  return new Promise((resolve, reject) => {
    const handler = new Exchange(cancel, stream, resolve, reject, onCollectStart);
    try {
      pool.dispatch(opts, handler);
    } catch (err) {
      handler.onResponseError(undefined as never, err as Error);
    }
  });
}
