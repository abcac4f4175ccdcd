// autocannon ships no types and the project must not add @types packages, so this declares the
// small part of its programmatic API the benchmark uses (see node_modules/autocannon/README.md).
declare module 'autocannon' {
  import type { EventEmitter } from 'node:events';

  namespace autocannon {
    interface Options {
      url: string;
      method?: string;
      headers?: Record<string, string>;
      body?: string;
      connections?: number;
      /** Seconds. The run stops at the first sample tick after it: keep sampleInt small. */
      duration?: number;
      pipelining?: number;
      /** Seconds before a request counts as a timeout. */
      timeout?: number;
      /** Milliseconds between samples. */
      sampleInt?: number;
      /** Every response body is passed here; false counts a mismatch. */
      verifyBody?: (body: string) => boolean;
    }

    interface Result {
      duration: number;
      errors: number;
      timeouts: number;
      mismatches: number;
      non2xx: number;
      resets: number;
      '2xx': number;
      statusCodeStats: Record<string, { count: number }>;
      requests: { total: number; sent: number };
    }

    /** Resolves with the result; emits 'start', and 'response'(client, statusCode, bytes, ms) per response. */
    interface Instance extends EventEmitter, PromiseLike<Result> {
      stop(): void;
    }
  }

  function autocannon(opts: autocannon.Options): autocannon.Instance;
  export = autocannon;
}
