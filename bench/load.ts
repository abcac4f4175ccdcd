// One load run with autocannon, in this process. Latencies are taken from autocannon's per-response
// event in fractional milliseconds: its own histogram keeps whole milliseconds, too coarse for a
// 0.5 ms target at one connection.
import autocannon from 'autocannon';
import { percentile } from './stats.js';

export interface LoadSpec {
  url: string;
  headers: Record<string, string>;
  body: string;
  connections: number;
  seconds: number;
  /** Every response body must pass, or it counts as an error. */
  verify: (body: string) => boolean;
}

export interface LoadResult {
  /** Valid 2xx responses per second. */
  rps: number;
  p50: number;
  p99: number;
  ok: number;
  /** Connection errors, timeouts, non-2xx and bodies that failed `verify`. */
  failed: number;
  seconds: number;
}

export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const latencies: number[] = [];
  const instance = autocannon({
    url: spec.url,
    method: 'POST',
    headers: spec.headers,
    body: spec.body,
    connections: spec.connections,
    duration: spec.seconds,
    // The run ends at the first sample tick after `duration`: a small interval ends it on time.
    sampleInt: 100,
    timeout: 10,
    verifyBody: spec.verify,
  });
  let startedAt = performance.now();
  instance.on('start', () => (startedAt = performance.now()));
  instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
    if (status >= 200 && status < 300) latencies.push(ms);
  });
  const r = await instance;
  const seconds = (performance.now() - startedAt) / 1000;
  // A mismatching body was still a 2xx response (and recorded above): it is an error, not a success.
  const ok = Math.max(0, latencies.length - r.mismatches);
  return {
    rps: ok / seconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    ok,
    failed: r.errors + r.timeouts + r.non2xx + r.mismatches,
    seconds,
  };
}
