// The failover run's child processes: two simulators and a gateway in front of both. One simulator
// is SIGKILLed under load (no drain, no goodbye: requests in flight on it just lose their
// connection) and later started again on the same port, where the gateway's health checks find it.
import { join } from 'node:path';
import type { ServerProcess } from '../processes.js';
import type { ClassKeys } from '../overload/gateway-config.js';
import { assertAlive, startGateway, startSimulator, stopProcesses } from '../overload/servers.js';
import { failoverGatewayConfig, failoverRouting } from './gateway-config.js';
import { KILLED, SURVIVOR } from './workload.js';

export interface FailoverServers {
  survivor: ServerProcess;
  /** The engine to kill; after restart(), its successor on the same port. */
  victim: ServerProcess;
  gateway: ServerProcess;
  keys: ClassKeys;
  dir: string;
  /** The model's deployment choice, as the gateway parses its config (prefix-aware or least-loaded). */
  routing: string;
}

export async function startFailoverServers(dir: string, keys: ClassKeys): Promise<FailoverServers> {
  const s: Partial<FailoverServers> = { keys, dir };
  try {
    s.survivor = await startSimulator(dir, `${SURVIVOR}-engine`, `simulator ${SURVIVOR}`);
    s.victim = await startSimulator(dir, `${KILLED}-engine`, `simulator ${KILLED}`);
    const engineUrls = { [SURVIVOR]: `${s.survivor.url}/v1`, [KILLED]: `${s.victim.url}/v1` } as const;
    s.gateway = await startGateway(dir, 'failover', failoverGatewayConfig({ engineUrls, storePath: join(dir, 'failover-sluice.db'), keys }));
    s.routing = failoverRouting(engineUrls);
    return s as FailoverServers;
  } catch (err) {
    await stopProcesses([s.gateway, s.victim, s.survivor].filter((p) => p !== undefined));
    throw err;
  }
}

export interface Kill {
  /** performance.now() and Date.now() just after the signal was sent (the gateway logs wall time). */
  at: number;
  wallMs: number;
  /** When the benchmark saw it exit (its event loop's view, a little later). */
  exitedAt: number;
}

/** SIGKILL: the kernel ends it at once and closes its sockets, as when a GPU server crashes. */
export async function killVictim(s: FailoverServers): Promise<Kill> {
  const gone = new Promise<number>((resolve) => s.victim.proc.once('exit', () => resolve(performance.now())));
  s.victim.proc.kill('SIGKILL');
  const at = performance.now();
  const wallMs = Date.now();
  return { at, wallMs, exitedAt: await gone };
}

export interface Restart {
  /** performance.now() when the new process was spawned, and when it printed its address. */
  at: number;
  readyAt: number;
  readyWallMs: number;
}

/** A fresh simulator on the dead one's port: to the gateway, the same engine come back. */
export async function restartVictim(s: FailoverServers): Promise<Restart> {
  const at = performance.now();
  const port = Number(new URL(s.victim.url).port);
  s.victim = await startSimulator(s.dir, `${KILLED}-engine-restarted`, `simulator ${KILLED} (restarted)`, port);
  return { at, readyAt: performance.now(), readyWallMs: Date.now() };
}

/** The gateway and the survivor must live through the run; the victim only after its restart. */
export function assertFailoverAlive(s: FailoverServers, victimExpected: boolean): void {
  assertAlive(victimExpected ? [s.gateway, s.survivor, s.victim] : [s.gateway, s.survivor]);
}

export function stopFailoverServers(s: FailoverServers): Promise<void> {
  return stopProcesses([s.gateway, s.victim, s.survivor]);
}
