// What a failover run measured, put together: the clients' requests cut into phases, what the kill
// caught, what the gateway's log says routing did around the kill and the restart, the retry
// counters, and the targets judged on all of it.
import type { Capacity } from '../overload/calibrate.js';
import { runHeader } from '../overload/report.js';
import type { RetryCounters } from './gateway-counters.js';
import { readGatewayLog, routedTo } from './gateway-log.js';
import { killImpact } from './kill-impact.js';
import type { FailoverOptions } from './options.js';
import { summarizePhases, type Request } from './phases.js';
import type { FailoverReport } from './report.js';
import type { Kill, Restart } from './servers.js';
import { evaluateFailoverTargets } from './targets.js';
import { KILLED, LOAD_FACTOR, MODEL, type FailoverArrival } from './workload.js';

/** Arrivals sent later than this against the schedule are counted and reported. */
const LATE_MS = 10;

export interface Measured {
  routing: string;
  concurrency: number;
  capacity: Capacity;
  offeredRps: number;
  schedule: FailoverArrival[];
  /** performance.now() when the arrivals started. */
  t0: number;
  sent: Request[];
  kill: Kill;
  restart: Restart;
  counters: RetryCounters;
}

export function failoverResults(m: Measured, gatewayLogFile: string, o: FailoverOptions, started: number): FailoverReport {
  const { sent, kill, restart } = m;
  const phases = summarizePhases(sent, { killAt: kill.at, restartAt: restart.at });
  const impact = killImpact(sent, KILLED, kill.at, restart.at);
  const log = readGatewayLog(gatewayLogFile, MODEL);
  // The gateway logs wall time; the restart's spawn on that clock.
  const restartWallMs = kill.wallMs + (restart.at - kill.at);
  const afterKill = routedTo(log, KILLED, kill.wallMs, restartWallMs);
  const afterRestart = routedTo(log, KILLED, restartWallMs, Number.POSITIVE_INFINITY);
  const back = log.events.find((e) => e.deployment === KILLED && e.kind === 'health' && e.to === 'back' && e.wallMs >= restartWallMs);
  const report: FailoverReport = {
    ...runHeader(started, o.quick),
    routing: m.routing,
    concurrency: m.concurrency,
    capacity: m.capacity,
    offeredRps: m.offeredRps,
    loadFactor: LOAD_FACTOR,
    arrivals: { all: m.schedule.length, streamed: m.schedule.filter((a) => a.stream).length, json: m.schedule.filter((a) => !a.stream).length },
    arrivalSeconds: o.arrivalSeconds,
    graceSeconds: o.graceSeconds,
    kill: { atSeconds: (kill.at - m.t0) / 1000, exitSeenAfterMs: kill.exitedAt - kill.at },
    restart: { atSeconds: (restart.at - m.t0) / 1000, listeningAfterMs: restart.readyAt - restart.at },
    phases,
    impact,
    eventsAfterKill: log.events.filter((e) => e.deployment === KILLED && e.wallMs >= kill.wallMs).map((e) => ({ ...e, afterKillMs: e.wallMs - kill.wallMs })),
    routedAfterKill: { ...afterKill, lastAfterKillMs: afterKill.lastMs - kill.wallMs },
    routedAfterRestart: { ...afterRestart, firstAfterListeningMs: afterRestart.firstMs - restart.readyWallMs },
    backAfterListeningMs: (back?.wallMs ?? Number.NaN) - restart.readyWallMs,
    counters: m.counters,
    headerRetries: sent.reduce((n, r) => n + Math.max(0, (r.attempts ?? 1) - 1), 0),
    lateArrivals: sent.filter((r) => r.lateMs > LATE_MS).length,
    targets: evaluateFailoverTargets({
      all: phases.at(-1)!,
      jsonErrors: sent.filter((r) => !r.arrival.stream && r.ending !== 'completed').length,
      impact,
      offeredRps: m.offeredRps,
      routedAfterKillMs: afterKill.count === 0 ? 0 : afterKill.lastMs - kill.wallMs,
    }),
  };
  report.elapsedSeconds = Math.round((performance.now() - started) / 100) / 10;
  return report;
}
