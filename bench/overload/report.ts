// The overload benchmark's results twice: a table for people (stdout) and JSON for machines.
import { CRITICAL_RESERVE_SHARE } from './gateway-config.js';
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname } from 'node:path';
import type { Priority } from '../../src/store/keys-repo.js';
import type { admissionBetween } from './admission-metrics.js';
import type { Capacity, IdleTtft } from './calibrate.js';
import type { EngineLoad } from './engine-load.js';
import type { Bounded, ClassSummary, RunSummary } from './summary.js';
import type { OverloadTarget } from './targets.js';
import { CLASSES, ENGINE, OUTPUT_TOKENS, QUEUE_WAIT_MS, queueLength } from './workload.js';

export interface RunResult {
  idle: IdleTtft;
  summary: RunSummary;
  engine: EngineLoad;
  /** The gateway's admission metrics over the load (admission on only). */
  admission: ReturnType<typeof admissionBetween> | undefined;
  /** Arrivals sent later than scheduled by more than 10 ms (a load generator short of CPU). */
  lateArrivals: number;
  elapsedMs: number;
}

/** Where and when a benchmark ran; elapsedSeconds is filled in at its end. */
export interface RunHeader {
  startedAt: string;
  elapsedSeconds: number;
  node: string;
  cpus: number;
  quick: boolean;
}

/** The header of a run that started at performance.now() = `started`. */
export function runHeader(started: number, quick: boolean): RunHeader {
  return { startedAt: new Date(Date.now() - (performance.now() - started)).toISOString(), elapsedSeconds: 0, node: process.version, cpus: availableParallelism(), quick };
}

export interface OverloadReport extends RunHeader {
  concurrency: number;
  capacity: Capacity;
  offeredRps: number;
  overloadFactor: number;
  arrivals: Record<Priority | 'all', number>;
  arrivalSeconds: number;
  graceSeconds: number;
  objectiveMs: number;
  off: RunResult;
  on: RunResult;
  targets: OverloadTarget[];
}

const ms = (v: number) => (Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : 'n/a');
const bounded = (b: Bounded) => (Number.isFinite(b.ms) ? `${b.atLeast ? '≥ ' : ''}${ms(b.ms)}` : 'n/a');

const WIDTHS = [12, 6, 9, 6, 11, 7, 10, 10, 9, 9];

function row(cells: string[]): string {
  return cells.map((c, i) => (i === 0 ? c.padEnd(WIDTHS[i]!) : c.padStart(WIDTHS[i]!))).join('  ').trimEnd();
}

function classRow(label: string, c: ClassSummary): string {
  return row([`  ${label}`, String(c.sent), String(c.admitted), String(c.shed), String(c.unfinished), String(c.failed), bounded(c.ttftP50), bounded(c.ttftP99), String(c.metObjective), c.goodputTokPerS.toFixed(1)]);
}

function codes(c: Record<string, number>): string {
  return Object.entries(c).map(([k, n]) => `${k} ${n}`).join(', ');
}

export function targetLine(t: OverloadTarget): string {
  const fmt = (v: number) => (t.unit === '×' ? (Number.isFinite(v) ? `${v.toFixed(2)} ×` : '∞ ×') : t.unit === 'ms' ? `${ms(v)} ms` : t.unit === 'per request' ? v.toFixed(3) : t.unit === 'share' ? v.toFixed(2) : String(v));
  const measured = `${fmt(t.value)} ${t.bound === 'max' ? '≤' : '≥'} ${fmt(t.limit)}`;
  return `  ${t.description.padEnd(52)} ${measured.padStart(22)}   ${t.met ? 'met' : 'MISSED'}`;
}

export function renderOverload(r: OverloadReport): string {
  const queue = CLASSES.map((p) => `${p} ${queueLength(p, r.capacity.rps)} waiting / ${QUEUE_WAIT_MS[p]} ms`).join(', ');
  const lines = [
    `Sluice overload benchmark${r.quick ? ' (--quick)' : ''}: node ${r.node}, ${r.cpus} CPUs, ${r.startedAt}, ${r.elapsedSeconds} s`,
    `Engine: sluice sim, concurrency C = ${r.concurrency} (--max-num-seqs), knee ${ENGINE.kneeSeqs} sequences, ${ENGINE.itlMs} ms a step alone, ${ENGINE.ttftMs} ms fixed first-token time, engine queue unbounded (${ENGINE.maxQueue.toLocaleString('en-US')})`,
    `Capacity, closed loop at C through the gateway: ${r.capacity.rps.toFixed(1)} req/s, ${Math.round(r.capacity.tokensPerS)} tokens/s (${r.capacity.completed} answers of ${OUTPUT_TOKENS.min}-${OUTPUT_TOKENS.max} tokens in ${r.capacity.seconds} s)`,
    `Offered: ${r.offeredRps.toFixed(1)} req/s (${r.overloadFactor} × capacity), Poisson arrivals for ${r.arrivalSeconds} s, streaming: ${r.arrivals.all} requests (${CLASSES.map((p) => `${r.arrivals[p]} ${p}`).join(', ')}); still unfinished ${r.graceSeconds} s after the last arrival: given up`,
    `First-token objective: ${r.objectiveMs} ms. Goodput: output tokens of completed requests that met it, per second of arrivals.`,
    `Idle time to first token (critical key, ${r.on.idle.samples} sequential requests): admission off p50 ${ms(r.off.idle.p50)} p99 ${ms(r.off.idle.p99)} ms; admission on p50 ${ms(r.on.idle.p50)} p99 ${ms(r.on.idle.p99)} ms`,
    `Admission on: maxConcurrency ${r.concurrency}, ${Math.max(1, Math.round(r.concurrency * CRITICAL_RESERVE_SHARE))} of them reserved for critical; per class at most ${queue}`,
    '',
    row(['', 'sent', 'admitted', 'shed', 'unfinished', 'failed', 'TTFT p50', 'TTFT p99', 'met obj.', 'goodput']),
    row(['', '', '', '', '', '', 'ms', 'ms', '', 'tok/s']),
  ];
  for (const [label, run] of [['admission off', r.off], ['admission on', r.on]] as const) {
    lines.push(label);
    for (const p of CLASSES) lines.push(classRow(p, run.summary[p]));
    lines.push(classRow('all', run.summary.all));
  }
  lines.push('', 'TTFT over the requests that got a first token; "≥": requests given up before theirs count at the time they were given up.');
  // What the engine really served under the overload, against the calibration the load was sized
  // from: far above 1 means the calibration ran low (a noisy moment) and the overload was milder.
  const servedRps = r.on.summary.all.admitted / r.arrivalSeconds;
  lines.push(`Admission on served ${servedRps.toFixed(1)} req/s over the arrivals: ${(servedRps / r.capacity.rps).toFixed(2)} × the measured capacity, so the load was ${(r.offeredRps / servedRps).toFixed(2)} × what the engine served.`);
  for (const [label, run] of [['admission off', r.off], ['admission on', r.on]] as const) {
    const e = run.engine;
    lines.push(`Engine, ${label}: at most ${e.peak} requests held at once (running + waiting, exact); ${e.samples} samples of /metrics every 50 ms${e.failedSamples > 0 ? ` (${e.failedSamples} failed)` : ''}: running ≤ ${e.maxRunning}, running + waiting ≤ ${e.maxSampled}`);
  }
  const a = r.on.admission;
  if (a) {
    lines.push(`Queue waits, admission on (the gateway's histogram, bucket bound): ${CLASSES.map((p) => `${p} p99 ≤ ${ms(a.waits[p].p99AtMostMs)} ms of ${a.waits[p].admitted}`).join(', ')}`);
    const mismatch = CLASSES.filter((p) => a.shed[p] !== r.on.summary[p].shed);
    if (a.heldAtEnd.inService > 0 || a.heldAtEnd.queued > 0) lines.push(`WARNING: after the run admission still held ${a.heldAtEnd.inService} in service and ${a.heldAtEnd.queued} queued (a leak)`);
    if (mismatch.length > 0) lines.push(`WARNING: the gateway counted other sheds than its clients saw: ${mismatch.map((p) => `${p} ${a.shed[p]} against ${r.on.summary[p].shed}`).join(', ')}`);
  }
  for (const [label, run] of [['admission off', r.off], ['admission on', r.on]] as const) {
    const shed = CLASSES.filter((p) => run.summary[p].shed > 0).map((p) => `${p}: ${codes(run.summary[p].shedCodes)}`);
    const failed = CLASSES.filter((p) => run.summary[p].failed > 0).map((p) => `${p}: ${codes(run.summary[p].failureCodes)}`);
    if (shed.length > 0) lines.push(`Shed, ${label}: ${shed.join('; ')}`);
    if (failed.length > 0) lines.push(`Failed, ${label}: ${failed.join('; ')}`);
    const noAdvice = run.summary.all.shedWithoutRetryAfter;
    if (noAdvice > 0) lines.push(`WARNING, ${label}: ${noAdvice} shed requests had no retry-after header`);
    if (run.lateArrivals > 0) lines.push(`WARNING, ${label}: ${run.lateArrivals} arrivals left over 10 ms late (the load generator was short of CPU)`);
  }
  lines.push('', 'Targets (admission on, against the same run)');
  for (const t of r.targets) lines.push(targetLine(t));
  const missed = r.targets.filter((t) => !t.met).length;
  lines.push('', missed === 0 ? 'All targets met.' : `${missed} of ${r.targets.length} targets MISSED (a noisy machine moves the latency ones; rerun before concluding).`);
  return `${lines.join('\n')}\n`;
}

/** Writes `doc` as indented JSON, creating its folder. NaN and Infinity are not JSON: they become null. */
export function writeResultsJson(path: string, doc: object): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(doc, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`);
}

export function writeOverloadJson(path: string, r: OverloadReport): void {
  writeResultsJson(path, { schema: 'sluice-bench-overload/1', ...r, engineSettings: ENGINE, outputTokens: OUTPUT_TOKENS, queueWaitMs: QUEUE_WAIT_MS, allTargetsMet: r.targets.every((t) => t.met) });
}
