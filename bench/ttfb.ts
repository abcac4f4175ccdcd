// Time to first byte of a stream: sequential requests on one keep-alive connection, each timed
// from the moment it is sent to the first body byte. One connection and no overlap, so the number
// is the latency each component adds, not queueing.
import { Client } from 'undici';
import { percentile } from './stats.js';

export interface TtfbSpec {
  origin: string;
  path: string;
  headers: Record<string, string>;
  body: string;
  /** Requests timed. */
  count: number;
  /** Requests sent first and not timed (connection set-up, first-call costs). */
  warmup: number;
  verify: (body: string) => boolean;
}

export interface TtfbResult {
  p50: number;
  p99: number;
  ok: number;
  failed: number;
}

export async function measureTtfb(spec: TtfbSpec): Promise<TtfbResult> {
  const client = new Client(spec.origin, { headersTimeout: 10_000, bodyTimeout: 10_000 });
  const samples: number[] = [];
  let failed = 0;
  try {
    for (let i = 0; i < spec.warmup + spec.count; i++) {
      const sentAt = performance.now();
      try {
        const res = await client.request({ path: spec.path, method: 'POST', headers: spec.headers, body: spec.body });
        let firstByteMs: number | undefined;
        let text = '';
        for await (const chunk of res.body) {
          firstByteMs ??= performance.now() - sentAt;
          text += (chunk as Buffer).toString('utf8');
        }
        if (res.statusCode !== 200 || firstByteMs === undefined || !spec.verify(text)) failed++;
        else if (i >= spec.warmup) samples.push(firstByteMs);
      } catch {
        failed++;
      }
    }
  } finally {
    await client.close().catch(() => undefined);
  }
  return { p50: percentile(samples, 50), p99: percentile(samples, 99), ok: samples.length, failed };
}
