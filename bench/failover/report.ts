// The failover benchmark's results twice: a table for people (stdout) and JSON for machines.
import type { Capacity } from '../overload/calibrate.js';
import { targetLine, writeResultsJson, type RunHeader } from '../overload/report.js';
import type { OverloadTarget } from '../overload/targets.js';
import { ENGINE, OUTPUT_TOKENS } from '../overload/workload.js';
import type { RetryCounters } from './gateway-counters.js';
import type { Routed, RoutingEvent } from './gateway-log.js';
import type { KillImpact } from './kill-impact.js';
import type { PhaseSummary } from './phases.js';
import { DETECTION_BOUND_MS, DETECTION_MARGIN_MS } from './targets.js';
import { DEPLOYMENTS, HEALTH_CHECK, KILLED, MODEL, RETRY_DEFAULTS, SURVIVOR } from './workload.js';

export interface FailoverReport extends RunHeader {
  /** The model's deployment choice (its default: prefix-aware for a chat model with two deployments). */
  routing: string;
  concurrency: number;
  /** The survivor alone, closed loop at its concurrency through the gateway. */
  capacity: Capacity;
  offeredRps: number;
  loadFactor: number;
  arrivals: { all: number; streamed: number; json: number };
  arrivalSeconds: number;
  graceSeconds: number;
  /** Seconds after the first arrival; the exit as the benchmark's event loop saw it, ms after the kill. */
  kill: { atSeconds: number; exitSeenAfterMs: number };
  /** Seconds after the first arrival; how long the new process took to listen, ms. */
  restart: { atSeconds: number; listeningAfterMs: number };
  phases: PhaseSummary[];
  impact: KillImpact;
  /** The killed deployment's circuit and health changes from the kill on, ms after it (gateway log). */
  eventsAfterKill: Array<RoutingEvent & { afterKillMs: number }>;
  /** Requests routed to the killed deployment between the kill and the restart (gateway log). */
  routedAfterKill: Routed & { lastAfterKillMs: number };
  /** Requests routed to it once restarted; firstAfterListeningMs: the first of them, after it listened. */
  routedAfterRestart: Routed & { firstAfterListeningMs: number };
  /** When its health checks put it back, ms after the new process listened (gateway log). */
  backAfterListeningMs: number;
  counters: RetryCounters;
  /** Retries the clients' x-sluice-attempts headers add up to (attempts − 1 per request). */
  headerRetries: number;
  lateArrivals: number;
  targets: OverloadTarget[];
}

const ms = (v: number) => (Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : 'n/a');
const plus = (v: number) => (Number.isFinite(v) ? `+${ms(v)} ms` : 'n/a');

const WIDTHS = [20, 5, 5, 6, 5, 5, 6, 6, 7, 7, 7, 7, 7, 7];

function row(cells: string[]): string {
  return cells.map((c, i) => (i === 0 ? c.padEnd(WIDTHS[i]!) : c.padStart(WIDTHS[i]!))).join('  ').trimEnd();
}

/** Labels centred over spans of columns [from, to] of `row`. */
function groupRow(groups: Array<[label: string, from: number, to: number]>): string {
  const start = (col: number) => WIDTHS.slice(0, col).reduce((n, w) => n + w + 2, 0);
  let line = '';
  for (const [label, from, to] of groups) {
    const span = start(to + 1) - 2 - start(from);
    const at = start(from) + Math.max(0, Math.floor((span - label.length) / 2));
    line = line.padEnd(at) + label;
  }
  return line;
}

function share(p: PhaseSummary, d: string): string {
  return p.ok === 0 ? '-' : `${Math.round((100 * (p.servedBy[d] ?? 0)) / p.ok)}%`;
}

function phaseRow(p: PhaseSummary): string {
  const a = p.attempts;
  return row([
    p.nested ? `  ${p.label}` : p.label, String(p.sent), String(p.ok), String(a.one), String(a.two), String(a.more), Number.isFinite(a.mean) ? a.mean.toFixed(3) : 'n/a', String(p.errors),
    ms(p.streamTtft.p50), ms(p.streamTtft.p99), ms(p.jsonLatency.p50), ms(p.jsonLatency.p99), ...DEPLOYMENTS.map((d) => share(p, d)),
  ]);
}

function codes(c: Record<string, number>): string {
  return Object.entries(c).map(([k, n]) => `${k} ×${n}`).join(', ');
}

function setup(r: FailoverReport): string[] {
  const hc = HEALTH_CHECK;
  return [
    `Sluice failover benchmark${r.quick ? ' (--quick)' : ''}: node ${r.node}, ${r.cpus} CPUs, ${r.startedAt}, ${r.elapsedSeconds} s`,
    `Engines: two sluice sim (${SURVIVOR}, ${KILLED}), each concurrency C = ${r.concurrency}, knee ${ENGINE.kneeSeqs}, ${ENGINE.itlMs} ms a step alone, ${ENGINE.ttftMs} ms first-token time`,
    `Gateway: ${MODEL} on both (openai, weight 1 each); health checks GET ${hc.path} every ${hc.intervalMs} ms, timeout ${hc.timeoutMs} ms, out after ${hc.unhealthyAfter} failures, back after ${hc.healthyAfter} pass; deployment choice (${r.routing}), retries, budget (${RETRY_DEFAULTS.budgetRatio * 100}% + ${RETRY_DEFAULTS.minPerSecond}/s), circuit breaker and timeouts at their defaults`,
    `Capacity of ${SURVIVOR} alone, closed loop at C through the gateway: ${r.capacity.rps.toFixed(1)} req/s (${r.capacity.completed} answers of ${OUTPUT_TOKENS.min}-${OUTPUT_TOKENS.max} tokens in ${r.capacity.seconds} s)`,
    `Offered: ${r.offeredRps.toFixed(1)} req/s (${r.loadFactor} × one engine), Poisson for ${r.arrivalSeconds} s: ${r.arrivals.all} requests, ${r.arrivals.streamed} streamed and ${r.arrivals.json} not, one class (standard)`,
    `${KILLED} SIGKILLed at ${r.kill.atSeconds.toFixed(2)} s (its exit seen ${plus(r.kill.exitSeenAfterMs)}); started again on its port at ${r.restart.atSeconds.toFixed(2)} s (listening ${plus(r.restart.listeningAfterMs)})`,
  ];
}

function table(r: FailoverReport): string[] {
  const lines = [
    groupRow([['attempts', 3, 6], ['stream TTFT', 8, 9], ['JSON answer', 10, 11], ['answered by', 12, 13]]),
    row(['by send time', 'sent', 'ok', '1', '2', '3+', 'mean', 'errors', 'p50', 'p99', 'p50', 'p99', ...DEPLOYMENTS]),
  ];
  for (const p of r.phases) lines.push(phaseRow(p));
  lines.push('', 'Times in ms, from sending: to the first token (streams), to the whole answer (non-streamed). "answered by": share of the ok answers (x-sluice-deployment).');
  for (const p of r.phases) {
    if (p.errors > 0 && !p.nested && p !== r.phases.at(-1)) lines.push(`Errors seen by clients, ${p.label}: ${codes(p.errorCodes)}`);
  }
  return lines;
}

function routing(r: FailoverReport): string[] {
  const i = r.impact;
  const after = r.routedAfterKill;
  const back = r.routedAfterRestart;
  const events = r.eventsAfterKill.map((e) => `${plus(e.afterKillMs)} ${e.kind === 'circuit' ? `circuit ${e.to}` : `health checks: ${e.to}`}${e.why ? ` (${e.why})` : ''}`);
  const c = r.counters;
  const mean = r.phases.at(-1)!.attempts.mean;
  return [
    `At the kill: ${i.inFlight} requests in flight, ${i.retried} of them answered after a retry; ${i.midStream} streams past their first byte from ${KILLED}, and ${i.inThePipe} whose first byte from it was still on its way`,
    `${KILLED} after the kill (gateway log): ${events.join('; ') || 'no change logged'}`,
    `Requests routed to ${KILLED} after the kill and before its restart: ${after.count}${after.count > 0 ? `, the last arriving ${plus(after.lastAfterKillMs)}` : ''}${after.uncertain > 0 ? ` (${after.uncertain} with 3+ attempts counted at their latest possible moment)` : ''}; bound ${DETECTION_BOUND_MS} ms = ${HEALTH_CHECK.unhealthyAfter} × ${HEALTH_CHECK.intervalMs} + ${HEALTH_CHECK.timeoutMs} + ${DETECTION_MARGIN_MS} margin`,
    `After the restart: health checks put ${KILLED} back ${plus(r.backAfterListeningMs)} after it listened, the first request was routed to it ${plus(back.firstAfterListeningMs)} after; ${back.count} routed to it in all`,
    `Retries (gateway /metrics, ${MODEL}): sluice_retries_total ${c.retries}${c.retries > 0 ? ` (${codes(c.retriesByCode)})` : ''}, sluice_retry_budget_exhausted_total ${c.budgetExhausted}; the clients' headers add up to ${r.headerRetries} retries`,
    `Upstream attempts per request, whole run: ${Number.isFinite(mean) ? mean.toFixed(3) : 'n/a'}`,
  ];
}

export function renderFailover(r: FailoverReport): string {
  const lines = [...setup(r), '', ...table(r), ...routing(r)];
  if (r.lateArrivals > 0) lines.push(`WARNING: ${r.lateArrivals} arrivals left over 10 ms late (the load generator was short of CPU)`);
  const before = r.phases[0]!;
  const unused = DEPLOYMENTS.filter((d) => (before.servedBy[d] ?? 0) === 0);
  if (unused.length > 0) lines.push(`WARNING: before the kill nothing was answered by ${unused.join(', ')}: the load was not spread over both`);
  lines.push('', 'Targets');
  for (const t of r.targets) lines.push(targetLine(t));
  const missed = r.targets.filter((t) => !t.met).length;
  lines.push('', missed === 0 ? 'All targets met.' : `${missed} of ${r.targets.length} targets MISSED.`);
  return `${lines.join('\n')}\n`;
}

export function writeFailoverJson(path: string, r: FailoverReport): void {
  writeResultsJson(path, { schema: 'sluice-bench-failover/1', ...r, engineSettings: ENGINE, outputTokens: OUTPUT_TOKENS, healthCheck: HEALTH_CHECK, detectionBoundMs: DETECTION_BOUND_MS, allTargetsMet: r.targets.every((t) => t.met) });
}
