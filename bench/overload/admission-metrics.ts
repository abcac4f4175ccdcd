// The gateway's own account of admission during a run, from its /metrics (read before and after
// the load, and differenced): how long admitted requests of each class waited in the queue, and
// how many it shed. The waits say how much of a class's time to first token was spent queued; the
// shed counts must match what the clients saw.
import { request } from 'undici';
import type { Priority } from '../../src/store/keys-repo.js';
import { CLASSES } from './workload.js';

export interface AdmissionSnapshot {
  /** Cumulative histogram buckets of sluice_admission_wait_seconds: upper bound (s) → count. */
  waits: Record<Priority, Map<number, number>>;
  shed: Record<Priority, number>;
  /** sluice_admission_in_service and sluice_admission_queue_length, summed: 0 once a run is over. */
  inService: number;
  queued: number;
}

export interface ClassWaits {
  admitted: number;
  /** The histogram bucket holding the 99th percentile: the wait was at most this, in ms. */
  p99AtMostMs: number;
}

/** The labels of one exposition line, `name{a="x",b="y"} 1` → {a: "x", b: "y"}. */
export function labels(line: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of line.matchAll(/(\w+)="([^"]*)"/g)) out[m[1]!] = m[2]!;
  return out;
}

/** The gateway's /metrics page, as text. */
export async function gatewayMetricsText(gatewayOrigin: string): Promise<string> {
  const res = await request(`${gatewayOrigin}/metrics`);
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`the gateway's /metrics answered ${res.statusCode}`);
  return text;
}

export async function scrapeAdmission(gatewayOrigin: string): Promise<AdmissionSnapshot> {
  const text = await gatewayMetricsText(gatewayOrigin);
  const snap: AdmissionSnapshot = { waits: { critical: new Map(), standard: new Map(), batch: new Map() }, shed: { critical: 0, standard: 0, batch: 0 }, inService: 0, queued: 0 };
  for (const line of text.split('\n')) {
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (line.startsWith('sluice_admission_wait_seconds_bucket{')) {
      const l = labels(line);
      const le = l.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(l.le);
      snap.waits[l.priority as Priority]?.set(le, value);
    } else if (line.startsWith('sluice_admission_shed_total{')) {
      const p = labels(line).priority as Priority;
      if (p in snap.shed) snap.shed[p] += value;
    } else if (line.startsWith('sluice_admission_in_service{')) {
      snap.inService += value;
    } else if (line.startsWith('sluice_admission_queue_length{')) {
      snap.queued += value;
    }
  }
  return snap;
}

/**
 * Once every request of a run has ended, admission holds nothing: no slot in service, nobody
 * queued. A slot still held would be a leak. Polled briefly: a slot is released just after the
 * last byte of its answer leaves.
 */
export async function settledAdmission(gatewayOrigin: string, withinMs = 1_000): Promise<AdmissionSnapshot> {
  const deadline = performance.now() + withinMs;
  for (;;) {
    const snap = await scrapeAdmission(gatewayOrigin);
    if ((snap.inService === 0 && snap.queued === 0) || performance.now() > deadline) return snap;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** What happened between two snapshots, per class, and what admission still held at the end. */
export function admissionBetween(before: AdmissionSnapshot, after: AdmissionSnapshot): { waits: Record<Priority, ClassWaits>; shed: Record<Priority, number>; heldAtEnd: { inService: number; queued: number } } {
  const waits = {} as Record<Priority, ClassWaits>;
  const shed = {} as Record<Priority, number>;
  for (const p of CLASSES) {
    const buckets = [...after.waits[p].entries()].map(([le, n]) => ({ le, n: n - (before.waits[p].get(le) ?? 0) })).sort((a, b) => a.le - b.le);
    const admitted = buckets.at(-1)?.n ?? 0;
    const p99 = buckets.find((b) => b.n >= 0.99 * admitted);
    waits[p] = { admitted, p99AtMostMs: admitted === 0 || !p99 ? Number.NaN : p99.le * 1000 };
    shed[p] = after.shed[p] - before.shed[p];
  }
  return { waits, shed, heldAtEnd: { inService: after.inService, queued: after.queued } };
}
