// One policy's run's processes: four fresh simulators (cold caches) and a fresh gateway in front
// of them, stopped together when the run ends (the overload benchmark's helpers do the work).
import { join } from 'node:path';
import type { ServerProcess } from '../processes.js';
import { assertAlive, startGateway, startSimulator, stopProcesses } from '../overload/servers.js';
import { DEPLOYMENTS, engineFlags } from './engine.js';
import { prefixGatewayConfig, type Policy } from './gateway-config.js';

export interface PolicyServers {
  sims: ServerProcess[];
  gateway: ServerProcess;
}

export async function startPolicyServers(dir: string, policy: Policy, apiKey: string): Promise<PolicyServers> {
  const sims: ServerProcess[] = [];
  try {
    // All four keep the default --seed: the same prompt gets the same answer on any of them, so a
    // conversation's history does not depend on where its requests ran.
    await Promise.all(Array.from({ length: DEPLOYMENTS }, async (_, i) => {
      sims[i] = await startSimulator(dir, `${policy}-sim-${i}`, `simulator ${i} (${policy})`, 0, engineFlags());
    }));
    const config = prefixGatewayConfig({ policy, simUrls: sims.map((s) => `${s.url}/v1`), storePath: join(dir, `${policy}-sluice.db`), apiKey });
    return { sims, gateway: await startGateway(dir, policy, config) };
  } catch (err) {
    await stopProcesses(sims.filter(Boolean));
    throw err;
  }
}

export function assertPolicyAlive(s: PolicyServers): void {
  assertAlive([...s.sims, s.gateway]);
}

export function stopPolicyServers(s: PolicyServers): Promise<void> {
  return stopProcesses([s.gateway, ...s.sims]);
}
