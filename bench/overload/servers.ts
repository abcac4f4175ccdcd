// One run's pair of child processes: a fresh simulator (`sluice sim` with the engine's flags) and a
// fresh gateway in front of it, so nothing of one run (a backlog, a learned drain rate, a warm
// cache) carries into the other. Stopped together when the run ends. The pieces (a simulator, a
// gateway from a config, stopping a given set) serve the failover and prefix benchmarks too.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify as toYaml } from 'yaml';
import { spawnServer, type ServerProcess } from '../processes.js';
import { SLUICE_JS } from '../servers.js';
import { overloadGatewayConfig, type ClassKeys, type OverloadGatewayInput } from './gateway-config.js';
import { engineFlags } from './workload.js';

export interface RunServers {
  engine: ServerProcess;
  gateway: ServerProcess;
  /** e.g. http://127.0.0.1:PORT */
  engineOrigin: string;
  gatewayOrigin: string;
  keys: ClassKeys;
}

/** `sluice sim` with the workload's engine flags (or others); on `port` (0: a free one), logging to DIR/NAME.log. */
export function startSimulator(dir: string, name: string, label: string, port = 0, flags: readonly string[] = engineFlags()): Promise<ServerProcess> {
  return spawnServer({
    name: label,
    args: [SLUICE_JS, 'sim', '--port', String(port), ...flags],
    logFile: join(dir, `${name}.log`),
    ready: /sluice sim listening on (http:\/\/\S+?)\/v1\s/,
    stdinPipe: false,
  });
}

/** `sluice serve` with `config`, written to DIR/TAG-sluice.yaml; its log is DIR/TAG-gateway.log. */
export function startGateway(dir: string, tag: string, config: Record<string, unknown>): Promise<ServerProcess> {
  const configFile = join(dir, `${tag}-sluice.yaml`);
  writeFileSync(configFile, toYaml(config));
  return spawnServer({
    name: `gateway (${tag})`,
    args: [SLUICE_JS, 'serve', '--config', configFile],
    logFile: join(dir, `${tag}-gateway.log`),
    ready: /Sluice listening on (http:\/\/\S+?)\/v1\s/,
    stdinPipe: false,
  });
}

export async function startRunServers(dir: string, tag: string, keys: ClassKeys, admission: OverloadGatewayInput['admission']): Promise<RunServers> {
  const engine = await startSimulator(dir, `${tag}-engine`, `simulator (${tag})`);
  const config = overloadGatewayConfig({ engineUrl: `${engine.url}/v1`, storePath: join(dir, `${tag}-sluice.db`), keys, admission });
  const gateway = await startGateway(dir, tag, config);
  return { engine, gateway, engineOrigin: engine.url, gatewayOrigin: gateway.url, keys };
}

function exited(p: ServerProcess): boolean {
  return p.proc.exitCode !== null || p.proc.signalCode !== null;
}

/** Throws when any of them has died: that run's numbers would mean nothing. */
export function assertAlive(processes: readonly ServerProcess[]): void {
  for (const p of processes) {
    if (exited(p)) throw new Error(`${p.name} exited (${p.proc.signalCode ?? `code ${p.proc.exitCode}`}); see ${p.logFile}`);
  }
}

export function assertRunAlive(s: RunServers): void {
  assertAlive([s.engine, s.gateway]);
}

/**
 * SIGTERM, then SIGKILL after `graceMs`. These processes only (processes.ts's stopAll would also
 * switch off its death watch for the rest of the benchmark); Ctrl-C and exit still go through
 * processes.ts, which knows every child.
 */
export async function stopProcesses(processes: readonly ServerProcess[], graceMs = 2_000): Promise<void> {
  await Promise.all(processes.map(async (p) => {
    if (exited(p)) return;
    const gone = new Promise<void>((resolve) => p.proc.once('exit', () => resolve()));
    p.proc.kill('SIGTERM');
    const timer = setTimeout(() => p.proc.kill('SIGKILL'), graceMs);
    await gone;
    clearTimeout(timer);
  }));
}

export function stopRunServers(s: RunServers, graceMs = 2_000): Promise<void> {
  return stopProcesses([s.gateway, s.engine], graceMs);
}
