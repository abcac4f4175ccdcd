// Peak memory of one server process while it holds many slow streams open at once. The streams are
// opened as fast as the server takes them, held open for a fixed time once all are open, then
// released (the fake engine finishes them) and read to the end. The process's resident set (VmRSS
// in /proc/PID/status) is sampled every 100 ms from the first request to the last stream's end.
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool, request } from 'undici';

export interface MemorySpec {
  origin: string;
  path: string;
  headers: Record<string, string>;
  /** A slow stream request: the fake engine spreads it over far longer than the test lasts. */
  body: string;
  streams: number;
  /** How long all streams stay open together before they are released. */
  holdMs: number;
  /** The fake engine's release route: ends every slow stream at once. */
  releaseUrl: string;
  /** The process whose memory is measured. */
  pid: number;
  verify: (body: string) => boolean;
}

export interface MemoryResult {
  /** RSS just before the streams opened. */
  idleMb: number;
  peakMb: number;
  /** Most streams open (headers received, not finished) at one time. */
  maxOpen: number;
  /** From the first request to the moment `maxOpen` was reached. */
  openMs: number;
  ok: number;
  failed: number;
}

const SAMPLE_MS = 100;
// Streams still waiting for their response headers. The ramp paces itself to the server this way:
// a burst of connects beyond its listen backlog (Node's default 511, the gateway's) would see SYNs
// dropped and retried a second later.
const MAX_OPENING = 64;
/** Opening 1,000 streams takes 1-3 s on a 2-core machine; past this something is wrong. */
const OPEN_DEADLINE_MS = 20_000;
const FINISH_DEADLINE_MS = 15_000;

export function rssMb(pid: number): number {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m?.[1]) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) / 1024;
}

/** Open files allowed to this process (and its children, which inherit the limit). */
export function openFileLimit(): number {
  const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
  return !m?.[1] || m[1] === 'unlimited' ? Number.POSITIVE_INFINITY : Number(m[1]);
}

/** Rejects after `ms`; the timer is cleared either way, so it never holds the process open. */
async function withDeadline<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

export async function measureStreamMemory(spec: MemorySpec): Promise<MemoryResult> {
  const idleMb = rssMb(spec.pid);
  let peakMb = idleMb;
  const sample = () => {
    try {
      peakMb = Math.max(peakMb, rssMb(spec.pid));
    } catch {
      // The process died: the caller's liveness check reports it.
    }
  };
  const sampler = setInterval(sample, SAMPLE_MS);
  // One socket per stream: pipelining would serialise the streams behind each other.
  const pool = new Pool(spec.origin, { connections: spec.streams, pipelining: 1, headersTimeout: 30_000, bodyTimeout: 30_000 });
  const startedAt = performance.now();
  let open = 0;
  let maxOpen = 0;
  let openMs = 0;
  let ok = 0;
  let failed = 0;
  let settled = 0;
  let opening = 0;
  let progressed: (() => void) | undefined;
  const wake = () => progressed?.();
  const nextEvent = () => new Promise<void>((resolve) => (progressed = resolve));

  async function oneStream(): Promise<void> {
    opening++;
    let waiting = true;
    try {
      const res = await pool.request({ path: spec.path, method: 'POST', headers: spec.headers, body: spec.body });
      waiting = false;
      opening--;
      open++;
      if (open > maxOpen) {
        maxOpen = open;
        openMs = performance.now() - startedAt;
      }
      wake();
      let text = '';
      try {
        for await (const chunk of res.body) text += (chunk as Buffer).toString('utf8');
      } finally {
        open--;
      }
      if (res.statusCode === 200 && spec.verify(text)) ok++;
      else failed++;
    } catch {
      failed++;
    } finally {
      if (waiting) opening--;
      settled++;
      wake();
    }
  }

  try {
    const all: Promise<void>[] = [];
    const allOpen = (async () => {
      while (all.length < spec.streams) {
        if (opening >= MAX_OPENING) await nextEvent();
        else all.push(oneStream());
      }
      // Every stream is either open or already failed (counted, and reported by the caller).
      while (open + settled < spec.streams) await nextEvent();
    })();
    await withDeadline(allOpen, OPEN_DEADLINE_MS, `${spec.streams} streams did not open`);
    await sleep(spec.holdMs);
    sample();
    const released = await request(spec.releaseUrl, { method: 'POST' });
    await released.body.dump();
    await withDeadline(Promise.all(all), FINISH_DEADLINE_MS, 'released streams did not finish');
    sample();
  } finally {
    clearInterval(sampler);
    await pool.destroy().catch(() => undefined);
  }
  return { idleMb, peakMb, maxOpen, openMs, ok, failed };
}
