// The gateway's own account of the run, from its log file (stdout: one JSON line per request, and a
// line for each circuit and health-check change of a deployment). The request lines say which
// deployment served each request and after how many attempts; with two deployments that also says
// where the first attempt went, which is what "still routed to the dead engine" means.
import { readFileSync } from 'node:fs';

export interface RequestLine {
  /** Wall-clock ms: when the request arrived (its id starts with it) and when it was logged (ended). */
  startMs: number;
  endMs: number;
  status: number;
  code: string | undefined;
  deployment: string | undefined;
  attempts: number | undefined;
  stream: boolean;
  /** ms from arrival to the first byte sent (streams) or to the end (ms). */
  firstByteMs: number | undefined;
  ms: number;
}

export interface RoutingEvent {
  wallMs: number;
  deployment: string;
  /** circuit: closed / open / half-open; health: out / back. */
  kind: 'circuit' | 'health';
  to: string;
  why: string;
}

export interface GatewayLog {
  requests: RequestLine[];
  events: RoutingEvent[];
}

interface Line {
  time?: string;
  msg?: string;
  model?: string;
  request_id?: string;
  deployment?: string;
  status?: number;
  code?: string;
  attempts?: number;
  stream?: boolean;
  first_byte_ms?: number;
  ms?: number;
  to?: string;
  why?: string;
}

/** A request id is req_ + the arrival time in ms as 12 hex digits + 20 random ones. */
function arrivalMs(requestId: string): number {
  return Number.parseInt(requestId.slice(4, 16), 16);
}

/** The lines of `model`: its requests, and its deployments' circuit and health changes. */
export function readGatewayLog(file: string, model: string): GatewayLog {
  const out: GatewayLog = { requests: [], events: [] };
  for (const text of readFileSync(file, 'utf8').split('\n')) {
    if (!text.startsWith('{')) continue;
    const l = JSON.parse(text) as Line;
    if (l.model !== model || l.time === undefined) continue;
    const wallMs = Date.parse(l.time);
    if (l.msg === 'request' && l.request_id !== undefined) {
      out.requests.push({ startMs: arrivalMs(l.request_id), endMs: wallMs, status: l.status ?? 0, code: l.code, deployment: l.deployment, attempts: l.attempts, stream: l.stream === true, firstByteMs: l.first_byte_ms, ms: l.ms ?? 0 });
    } else if (l.deployment !== undefined && l.msg?.startsWith('circuit')) {
      out.events.push({ wallMs, deployment: l.deployment, kind: 'circuit', to: l.to ?? '?', why: l.why ?? '' });
    } else if (l.deployment !== undefined && l.msg?.includes('health checks')) {
      out.events.push({ wallMs, deployment: l.deployment, kind: 'health', to: l.msg.includes('taken out') ? 'out' : 'back', why: l.why ?? '' });
    }
  }
  return out;
}

export interface Routed {
  /** Requests whose first attempt went to the deployment within the window. */
  count: number;
  /** Wall ms of the first and the last of them; NaN for none. */
  firstMs: number;
  lastMs: number;
  /** Of them, with 3+ attempts: which attempt went where is not in the log; their time is an upper bound. */
  uncertain: number;
}

/**
 * Requests sent to `deployment` that arrived in [fromMs, toMs). The log names the deployment of the
 * last attempt only. A request with 1 attempt went where it was served. With two deployments a
 * retry goes to the one not tried yet while it can be chosen (balancer.ts), so one with 2 attempts
 * served by the other deployment went to this one first, on arrival. Anything else (2 attempts
 * ending here, 3 or more) may have come here at any attempt: it counts, conservatively, at the
 * latest moment one of its attempts could have started (its first byte, or its end).
 */
export function routedTo(log: GatewayLog, deployment: string, fromMs: number, toMs: number): Routed {
  const out: Routed = { count: 0, firstMs: Number.NaN, lastMs: Number.NaN, uncertain: 0 };
  for (const r of log.requests) {
    if (r.startMs < fromMs || r.startMs >= toMs || r.attempts === undefined) continue;
    let at: number | undefined;
    if (r.attempts === 1) at = r.deployment === deployment ? r.startMs : undefined;
    else if (r.attempts === 2 && r.deployment !== deployment) at = r.startMs;
    else {
      at = r.startMs + (r.firstByteMs ?? r.ms);
      out.uncertain++;
    }
    if (at === undefined) continue;
    out.count++;
    // NaN compares false: the first one found sets both.
    if (!(at >= out.firstMs)) out.firstMs = at;
    if (!(at <= out.lastMs)) out.lastMs = at;
  }
  return out;
}
