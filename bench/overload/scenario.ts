// `npm run bench -- --scenario overload`: the same overload twice, admission off then on, each on a
// fresh simulator and gateway. Run 1 also measures the capacity the load is sized from (2×), so
// both runs receive the same schedule of requests; each run first times its idle first token.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Priority } from '../../src/store/keys-repo.js';
import { openFileLimit } from '../memory.js';
import { admissionBetween, scrapeAdmission, settledAdmission } from './admission-metrics.js';
import { measureCapacity, measureIdleTtft, type Capacity, type IdleTtft } from './calibrate.js';
import { watchEngine } from './engine-load.js';
import { freshKeys } from './gateway-config.js';
import { runOpenLoop } from './open-loop.js';
import type { OverloadOptions } from './options.js';
import { renderOverload, runHeader, writeOverloadJson, type OverloadReport, type RunResult } from './report.js';
import { assertRunAlive, startRunServers, stopRunServers, type RunServers } from './servers.js';
import { summarizeRun } from './summary.js';
import { evaluateOverloadTargets } from './targets.js';
import { CLASSES, ENGINE, OBJECTIVE_MS, OVERLOAD_FACTOR, poissonSchedule, type Arrival } from './workload.js';

type Progress = (message: string) => void;

/** Arrivals sent later than this against the schedule are counted and reported. */
const LATE_MS = 10;
/** Errors other than admission's 503s: over this share of a run, its numbers mean nothing. */
const MAX_FAILED_SHARE = 0.01;

async function loadRun(s: RunServers, schedule: readonly Arrival[], o: OverloadOptions, idle: IdleTtft, progress: Progress, tag: string, admissionOn: boolean): Promise<RunResult> {
  progress(`${tag}: ${schedule.length} requests over ${o.arrivalSeconds} s, open loop`);
  const before = admissionOn ? await scrapeAdmission(s.gatewayOrigin) : undefined;
  const stopWatching = watchEngine(s.engineOrigin);
  let engine;
  let result;
  try {
    result = await runOpenLoop(s.gatewayOrigin, s.keys, schedule, o.arrivalSeconds, o.graceSeconds);
  } finally {
    engine = await stopWatching();
  }
  assertRunAlive(s);
  const admission = before && admissionBetween(before, await settledAdmission(s.gatewayOrigin));
  const summary = summarizeRun(result.sent, OBJECTIVE_MS, o.arrivalSeconds);
  const all = summary.all;
  if (all.failed > MAX_FAILED_SHARE * all.sent) {
    const why = CLASSES.map((p) => Object.entries(summary[p].failureCodes).map(([k, n]) => `${p} ${k} ×${n}`).join(', ')).filter(Boolean).join('; ');
    throw new Error(`${tag}: ${all.failed} of ${all.sent} requests failed other than by admission (${why}); see ${s.gateway.logFile}`);
  }
  progress(`${tag}: admitted ${all.admitted}, shed ${all.shed}, unfinished ${all.unfinished}; critical p99 TTFT ${Math.round(summary.critical.ttftP99.ms)} ms; goodput ${all.goodputTokPerS.toFixed(1)} tok/s; engine peak ${engine.peak}`);
  return { idle, summary, engine, admission, lateArrivals: result.sent.filter((r) => r.lateMs > LATE_MS).length, elapsedMs: result.elapsedMs };
}

async function idleOf(s: RunServers, o: OverloadOptions, progress: Progress, tag: string): Promise<IdleTtft> {
  const idle = await measureIdleTtft(s.gatewayOrigin, s.keys.critical, o.idleSamples, o.idleWarmup);
  progress(`${tag}: idle time to first token p50 ${Math.round(idle.p50)} ms, p99 ${Math.round(idle.p99)} ms (${idle.samples} sequential requests)`);
  return idle;
}

/** Starts a run's servers, runs `body` on them, and stops them however it ends. */
async function withServers<T>(dir: string, tag: string, keys: ReturnType<typeof freshKeys>, admission: Parameters<typeof startRunServers>[3], body: (s: RunServers) => Promise<T>): Promise<T> {
  const s = await startRunServers(dir, tag, keys, admission);
  try {
    return await body(s);
  } finally {
    await stopRunServers(s);
  }
}

export async function runOverload(o: OverloadOptions, progress: Progress): Promise<void> {
  const started = performance.now();
  // Without admission the whole backlog is open at once: a client socket and an engine socket each.
  const needFiles = 4 * ENGINE.maxNumSeqs * OVERLOAD_FACTOR * (o.arrivalSeconds + o.graceSeconds) + 256;
  if (openFileLimit() < needFiles) throw new Error(`the open-file limit is ${openFileLimit()}; the overload run may need ${needFiles}: run \`ulimit -n ${needFiles}\` first`);
  const dir = mkdtempSync(join(tmpdir(), 'sluice-overload-'));
  progress(`overload: logs in ${dir}`);
  const keys = freshKeys();
  const concurrency = ENGINE.maxNumSeqs;

  let capacity: Capacity | undefined;
  let schedule: Arrival[] = [];
  const off = await withServers(dir, 'off', keys, undefined, async (s) => {
    const idle = await idleOf(s, o, progress, 'admission off');
    capacity = await measureCapacity(s.gatewayOrigin, keys, concurrency, o.calibrationSeconds, o.calibrationWarmupSeconds);
    progress(`capacity at concurrency ${concurrency}: ${capacity.rps.toFixed(1)} req/s, ${Math.round(capacity.tokensPerS)} tokens/s`);
    schedule = poissonSchedule(OVERLOAD_FACTOR * capacity.rps, o.arrivalSeconds);
    return loadRun(s, schedule, o, idle, progress, 'admission off', false);
  });
  const cap = capacity!;
  const on = await withServers(dir, 'on', keys, { maxConcurrency: concurrency, capacityRps: cap.rps }, async (s) => {
    const idle = await idleOf(s, o, progress, 'admission on');
    return loadRun(s, schedule, o, idle, progress, 'admission on', true);
  });

  const arrivals = Object.fromEntries([...CLASSES.map((p) => [p, schedule.filter((a) => a.priority === p).length]), ['all', schedule.length]]) as Record<Priority | 'all', number>;
  const report: OverloadReport = {
    ...runHeader(started, o.quick),
    concurrency,
    capacity: cap,
    offeredRps: OVERLOAD_FACTOR * cap.rps,
    overloadFactor: OVERLOAD_FACTOR,
    arrivals,
    arrivalSeconds: o.arrivalSeconds,
    graceSeconds: o.graceSeconds,
    objectiveMs: OBJECTIVE_MS,
    off,
    on,
    targets: evaluateOverloadTargets({ idleP99Ms: on.idle.p99, off: off.summary, on: on.summary, onEngine: on.engine, concurrency }),
  };
  report.elapsedSeconds = Math.round((performance.now() - started) / 100) / 10;
  process.stdout.write(renderOverload(report));
  writeOverloadJson(o.jsonPath, report);
  progress(`overload done in ${report.elapsedSeconds} s; results in ${o.jsonPath}`);
  rmSync(dir, { recursive: true, force: true });
}
