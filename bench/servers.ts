// Starts the three servers the benchmark needs, each its own process on loopback: the fake engine,
// the baseline proxy in front of it, and the gateway in front of it with its realistic config.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify as toYaml } from 'yaml';
import { realisticGatewayConfig } from './gateway-config.js';
import { spawnServer, type ServerProcess } from './processes.js';

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));
/** dist/bench/*.js next to this file; the gateway's CLI is dist/src/cli/main.js. */
const ENGINE_JS = here('./fake-engine.js');
const PROXY_JS = here('./baseline-proxy.js');
export const SLUICE_JS = here('../src/cli/main.js');

export interface Servers {
  engine: ServerProcess;
  proxy: ServerProcess;
  gateway: ServerProcess;
  /** A second gateway on the same keys whose rate limits live in Redis; absent without Redis. */
  redisGateway?: ServerProcess;
  apiKey: string;
  /** The key with rate limits (in memory on `gateway`, in Redis on `redisGateway`). */
  limitedKey: string;
  /** The gateway's config file: `sluice usage --config` reads its ledger after the run. */
  gatewayConfig: string;
}

/** `cpuProfDir`: run the gateway under `node --cpu-prof`, its profile written there when it stops. */
export async function startServers(dir: string, upstreamConnections: number, cpuProfDir?: string, redisUrl?: string): Promise<Servers> {
  const engine = await spawnServer({ name: 'fake engine', args: [ENGINE_JS], logFile: join(dir, 'engine.log'), ready: /listening on (http:\/\/\S+)/, stdinPipe: true });
  const proxy = await spawnServer({
    name: 'baseline proxy',
    args: [PROXY_JS, engine.url, String(upstreamConnections)],
    logFile: join(dir, 'proxy.log'),
    ready: /listening on (http:\/\/\S+)/,
    stdinPipe: true,
  });

  const gatewayConfig = join(dir, 'sluice.yaml');
  const setup = realisticGatewayConfig({ engineOrigin: engine.url, storePath: join(dir, 'sluice.db'), upstreamConnections });
  writeFileSync(gatewayConfig, toYaml(setup.config));
  const gateway = await spawnServer({
    name: 'gateway',
    args: [...(cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfDir}`] : []), SLUICE_JS, 'serve', '--config', gatewayConfig],
    logFile: join(dir, 'gateway.log'),
    // "Sluice listening on http://127.0.0.1:PORT/v1": the origin is what the clients need.
    ready: /Sluice listening on (http:\/\/\S+?)\/v1\s/,
    stdinPipe: false,
  });
  let redisGateway: ServerProcess | undefined;
  if (redisUrl) {
    const redisConfig = join(dir, 'sluice-redis.yaml');
    const keys = { apiKey: setup.apiKey, limitedKey: setup.limitedKey };
    writeFileSync(redisConfig, toYaml(realisticGatewayConfig({ engineOrigin: engine.url, storePath: join(dir, 'sluice-redis.db'), upstreamConnections, limitStore: redisUrl, keys }).config));
    redisGateway = await spawnServer({
      name: 'gateway (Redis limits)',
      args: [SLUICE_JS, 'serve', '--config', redisConfig],
      logFile: join(dir, 'gateway-redis.log'),
      ready: /Sluice listening on (http:\/\/\S+?)\/v1\s/,
      stdinPipe: false,
    });
  }
  return { engine, proxy, gateway, redisGateway, apiKey: setup.apiKey, limitedKey: setup.limitedKey, gatewayConfig };
}
