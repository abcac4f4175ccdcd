// The API traffic of the last few minutes, for the status page and the admin dashboard: requests,
// errors by code and by model, and time to first token, in slots of a few seconds kept in a ring
// (as routing/sliding-counts.ts keeps the circuits' windows). Recording a request is a few map
// increments and costs no allocation once its model and code have been seen in the slot; every
// figure is computed when a page reads it. Keys are configured model ids and catalog codes, so
// the maps stay as small as the config and the catalog.
import { catalog } from '../errors/catalog.js';
import { BUCKET_COUNT, bucketOf, quantiles } from './quantile-buckets.js';

export const SLOT_SECONDS = 5;
export const WINDOW_SLOTS = 60;
/** The span the totals cover: five minutes. */
export const WINDOW_SECONDS = SLOT_SECONDS * WINDOW_SLOTS;
const SLOT_MS = SLOT_SECONDS * 1000;

/** Codes whose catalog status is 5xx: the gateway's or an engine's failure, not the client's. */
const SERVER_CODES = new Set(Object.entries(catalog).filter(([, e]) => e.status >= 500).map(([code]) => code));

export interface ModelCounts {
  requests: number;
  /** Answers that failed on the server side: a 5xx status, or a stream that failed after it started. */
  serverErrors: number;
}

interface Slot {
  /** The slot's number (epoch ms / SLOT_MS); -1 while unused. */
  index: number;
  requests: number;
  serverErrors: number;
  byCode: Map<string, number>;
  byModel: Map<string, ModelCounts>;
  /** Times to first token, in quantile-buckets.ts buckets. */
  ttft: Uint32Array;
  ttftCount: number;
}

/** One slot of the series the dashboard charts (times in epoch seconds). */
export interface TrafficPoint {
  t: number;
  /** Seconds of traffic the slot holds: SLOT_SECONDS, less for the slot in progress. */
  seconds: number;
  requests: number;
  serverErrors: number;
  byCode: Record<string, number>;
  /** p50, p95, p99 of the slot's times to first token, ms; null without any. */
  ttftMs: [number | null, number | null, number | null];
}

export interface TrafficTotals {
  /** Seconds the totals cover: the window (less what is not yet over of the slot in progress), or the uptime when shorter; at least 1. */
  seconds: number;
  requests: number;
  serverErrors: number;
  /** Error answers by catalog code (4xx and 5xx, and streams that failed after they started). */
  byCode: Record<string, number>;
  byModel: Record<string, ModelCounts>;
  /** Requests whose first token's time is known (as in the time-to-first-token histogram), and its percentiles. */
  ttft: { count: number; p50Ms: number | null; p95Ms: number | null; p99Ms: number | null };
}

const PERCENTILES = [0.5, 0.95, 0.99] as const;

export class TrafficWindow {
  private readonly slots: Slot[] = Array.from({ length: WINDOW_SLOTS }, () => ({ index: -1, requests: 0, serverErrors: 0, byCode: new Map(), byModel: new Map(), ttft: new Uint32Array(BUCKET_COUNT), ttftCount: 0 }));

  private readonly startedAt: number;

  constructor(private readonly now: () => number = Date.now) {
    this.startedAt = now();
  }

  /**
   * One answered API request: its configured model ('' when none was resolved), HTTP status,
   * catalog code ('' on success) and its time to first token where known (a stream's first
   * byte; a whole answer's first token where the engine reports it).
   */
  record(model: string, status: number, code: string, firstTokenMs: number | undefined): void {
    const slot = this.slotAt(Math.floor(this.now() / SLOT_MS));
    slot.requests++;
    const failed = status >= 500 || (code !== '' && SERVER_CODES.has(code));
    if (failed) slot.serverErrors++;
    if (code !== '') slot.byCode.set(code, (slot.byCode.get(code) ?? 0) + 1);
    if (model !== '') {
      const m = slot.byModel.get(model);
      if (m) {
        m.requests++;
        if (failed) m.serverErrors++;
      } else slot.byModel.set(model, { requests: 1, serverErrors: failed ? 1 : 0 });
    }
    if (firstTokenMs !== undefined) {
      slot.ttft[bucketOf(firstTokenMs)]!++;
      slot.ttftCount++;
    }
  }

  /** The window's totals, ending now. */
  totals(): TrafficTotals {
    const nowMs = this.now();
    const current = Math.floor(nowMs / SLOT_MS);
    const byCode: Record<string, number> = {};
    const byModel: Record<string, ModelCounts> = {};
    const ttft = new Uint32Array(BUCKET_COUNT);
    let requests = 0;
    let serverErrors = 0;
    let withFirstToken = 0;
    for (const s of this.live(current)) {
      requests += s.requests;
      serverErrors += s.serverErrors;
      for (const [code, n] of s.byCode) byCode[code] = (byCode[code] ?? 0) + n;
      for (const [model, c] of s.byModel) {
        const m = (byModel[model] ??= { requests: 0, serverErrors: 0 });
        m.requests += c.requests;
        m.serverErrors += c.serverErrors;
      }
      if (s.ttftCount > 0) for (let i = 0; i < BUCKET_COUNT; i++) ttft[i]! += s.ttft[i]!;
      withFirstToken += s.ttftCount;
    }
    const [p50Ms, p95Ms, p99Ms] = quantiles(ttft, PERCENTILES);
    // A gateway up for less than the window has seen less: its rates are over its uptime.
    const seconds = Math.max(1, Math.min((WINDOW_SLOTS - 1) * SLOT_SECONDS + (nowMs - current * SLOT_MS) / 1000, (nowMs - this.startedAt) / 1000));
    return { seconds: Math.round(seconds * 1000) / 1000, requests, serverErrors, byCode, byModel, ttft: { count: withFirstToken, p50Ms: p50Ms!, p95Ms: p95Ms!, p99Ms: p99Ms! } };
  }

  /** One point per slot of the window, oldest first, the slot in progress last. */
  series(): TrafficPoint[] {
    const nowMs = this.now();
    const current = Math.floor(nowMs / SLOT_MS);
    const points: TrafficPoint[] = [];
    for (let index = current - WINDOW_SLOTS + 1; index <= current; index++) {
      const s = this.slots[index % WINDOW_SLOTS]!;
      const seconds = index === current ? Math.max(1, (nowMs - index * SLOT_MS) / 1000) : SLOT_SECONDS;
      if (s.index !== index) {
        points.push({ t: (index * SLOT_MS) / 1000, seconds, requests: 0, serverErrors: 0, byCode: {}, ttftMs: [null, null, null] });
        continue;
      }
      const [p50, p95, p99] = quantiles(s.ttft, PERCENTILES);
      points.push({ t: (index * SLOT_MS) / 1000, seconds, requests: s.requests, serverErrors: s.serverErrors, byCode: Object.fromEntries(s.byCode), ttftMs: [p50!, p95!, p99!] });
    }
    return points;
  }

  /** The slot for `index`, emptied first when it still holds an older slot's counts. */
  private slotAt(index: number): Slot {
    const slot = this.slots[index % WINDOW_SLOTS]!;
    if (slot.index !== index) {
      slot.index = index;
      slot.requests = 0;
      slot.serverErrors = 0;
      slot.byCode.clear();
      slot.byModel.clear();
      if (slot.ttftCount > 0) slot.ttft.fill(0);
      slot.ttftCount = 0;
    }
    return slot;
  }

  private *live(current: number): Iterable<Slot> {
    for (const s of this.slots) if (s.index > current - WINDOW_SLOTS && s.index <= current) yield s;
  }
}
