// One run's pair of child processes: a fresh simulator (`sluice sim` with the engine's flags) and a
// fresh gateway in front of it, so nothing of one run (a backlog, a learned drain rate, a warm
// cache) carries into the other. Stopped together when the run ends.
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

export async function startRunServers(dir: string, tag: string, keys: ClassKeys, admission: OverloadGatewayInput['admission']): Promise<RunServers> {
  const engine = await spawnServer({
    name: `simulator (${tag})`,
    args: [SLUICE_JS, 'sim', '--port', '0', ...engineFlags()],
    logFile: join(dir, `${tag}-engine.log`),
    ready: /sluice sim listening on (http:\/\/\S+?)\/v1\s/,
    stdinPipe: false,
  });
  const configFile = join(dir, `${tag}-sluice.yaml`);
  const config = overloadGatewayConfig({ engineUrl: `${engine.url}/v1`, storePath: join(dir, `${tag}-sluice.db`), keys, admission });
  writeFileSync(configFile, toYaml(config));
  const gateway = await spawnServer({
    name: `gateway (${tag})`,
    args: [SLUICE_JS, 'serve', '--config', configFile],
    logFile: join(dir, `${tag}-gateway.log`),
    ready: /Sluice listening on (http:\/\/\S+?)\/v1\s/,
    stdinPipe: false,
  });
  return { engine, gateway, engineOrigin: engine.url, gatewayOrigin: gateway.url, keys };
}

/** Throws when either process has died: that run's numbers would mean nothing. */
export function assertRunAlive(s: RunServers): void {
  for (const p of [s.engine, s.gateway]) {
    if (p.proc.exitCode !== null || p.proc.signalCode !== null) throw new Error(`${p.name} exited (${p.proc.signalCode ?? `code ${p.proc.exitCode}`}); see ${p.logFile}`);
  }
}

/**
 * SIGTERM, then SIGKILL after `graceMs`. This run's two only (processes.ts's stopAll would also
 * switch off its death watch for the rest of the benchmark); Ctrl-C and exit still go through
 * processes.ts, which knows every child.
 */
export async function stopRunServers(s: RunServers, graceMs = 2_000): Promise<void> {
  await Promise.all([s.gateway, s.engine].map(async (p) => {
    if (p.proc.exitCode !== null || p.proc.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => p.proc.once('exit', () => resolve()));
    p.proc.kill('SIGTERM');
    const timer = setTimeout(() => p.proc.kill('SIGKILL'), graceMs);
    await gone;
    clearTimeout(timer);
  }));
}
