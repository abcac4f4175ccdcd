// `npm run bench -- --scenario failover`: two simulators behind one model, open-loop load at 0.6 ×
// one engine's capacity (measured first, through the gateway, on the survivor alone), one engine
// SIGKILLed half-way through the arrivals and started again on its port near their end. What the
// clients saw comes from their own bookkeeping; what routing did, from the gateway's log and
// metrics (results.ts puts them together).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { measureCapacity } from '../overload/calibrate.js';
import { freshKeys } from '../overload/gateway-config.js';
import { runOpenLoop } from '../overload/open-loop.js';
import { ENGINE } from '../overload/workload.js';
import { scrapeRetries } from './gateway-counters.js';
import type { FailoverOptions } from './options.js';
import { summarizePhase } from './phases.js';
import { renderFailover, writeFailoverJson } from './report.js';
import { failoverResults, type Measured } from './results.js';
import { assertFailoverAlive, killVictim, restartVictim, startFailoverServers, stopFailoverServers, type FailoverServers } from './servers.js';
import { CALIBRATION_MODEL, failoverBody, failoverSchedule, KILLED, LOAD_FACTOR, MODEL } from './workload.js';

type Progress = (message: string) => void;

/** Requests that ended before the kill met two healthy engines: over this share failed, the setup is broken. */
const MAX_FAILED_BEFORE_KILL = 0.01;

/** Runs `action` at performance.now() = `when`. */
async function at<T>(when: number, action: () => Promise<T>): Promise<T> {
  const wait = when - performance.now();
  if (wait >= 1) await sleep(wait);
  return action();
}

/** Every promise settled, then the first failure thrown: nothing is left running behind an error. */
async function settleAll<T extends readonly unknown[]>(promises: { [K in keyof T]: Promise<T[K]> }): Promise<T> {
  const settled = await Promise.allSettled(promises);
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((s) => (s as PromiseFulfilledResult<unknown>).value) as unknown as T;
}

/** Calibration, then the open loop with the kill and the restart on time, then the gateway's counters. */
async function measure(s: FailoverServers, o: FailoverOptions, progress: Progress): Promise<Measured> {
  const concurrency = ENGINE.maxNumSeqs;
  const capacity = await measureCapacity(s.gateway.url, s.keys, concurrency, o.calibrationSeconds, o.calibrationWarmupSeconds, CALIBRATION_MODEL);
  const offeredRps = LOAD_FACTOR * capacity.rps;
  const schedule = failoverSchedule(offeredRps, o.arrivalSeconds);
  progress(`capacity of one engine at concurrency ${concurrency}: ${capacity.rps.toFixed(1)} req/s; sending ${schedule.length} requests over ${o.arrivalSeconds} s (${offeredRps.toFixed(1)} req/s), ${KILLED} killed at ${o.killAtSeconds} s, restarted at ${o.restartAtSeconds} s`);
  const t0 = performance.now();
  const [loop, kill, restart] = await settleAll([
    runOpenLoop(s.gateway.url, s.keys, schedule, o.arrivalSeconds, o.graceSeconds, failoverBody),
    at(t0 + o.killAtSeconds * 1000, async () => {
      const k = await killVictim(s);
      progress(`${KILLED} killed (SIGKILL) at ${((k.at - t0) / 1000).toFixed(2)} s`);
      return k;
    }),
    at(t0 + o.restartAtSeconds * 1000, async () => {
      const r = await restartVictim(s);
      progress(`${KILLED} started again on its port at ${((r.at - t0) / 1000).toFixed(2)} s, listening after ${Math.round(r.readyAt - r.at)} ms`);
      return r;
    }),
  ] as const);
  assertFailoverAlive(s, true);
  return { routing: s.routing, concurrency, capacity, offeredRps, schedule, t0, sent: loop.sent, kill, restart, counters: await scrapeRetries(s.gateway.url, MODEL) };
}

export async function runFailover(o: FailoverOptions, progress: Progress): Promise<void> {
  const started = performance.now();
  const dir = mkdtempSync(join(tmpdir(), 'sluice-failover-'));
  progress(`failover: logs in ${dir}`);
  const s = await startFailoverServers(dir, freshKeys());
  let m: Measured;
  try {
    m = await measure(s, o, progress);
  } finally {
    await stopFailoverServers(s);
  }
  const early = summarizePhase('ended before the kill', m.sent.filter((r) => r.sentAt + r.elapsedMs <= m.kill.at));
  if (early.errors > MAX_FAILED_BEFORE_KILL * early.sent) throw new Error(`${early.errors} of ${early.sent} requests that ended before the kill failed (${JSON.stringify(early.errorCodes)}); see ${s.gateway.logFile}`);
  // Read once the gateway has stopped: every line is in the file.
  const report = failoverResults(m, s.gateway.logFile, o, started);
  process.stdout.write(renderFailover(report));
  writeFailoverJson(o.jsonPath, report);
  progress(`failover done in ${report.elapsedSeconds} s; results in ${o.jsonPath}`);
  rmSync(dir, { recursive: true, force: true });
}
