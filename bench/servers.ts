// Starts the three servers the benchmark needs, each its own process on loopback: the fake engine,
// the baseline proxy in front of it, and the gateway in front of it with a real API key.
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { stringify as toYaml } from 'yaml';
import { benchKeyArgs, realisticGatewayConfig } from './gateway-config.js';
import { spawnServer, type ServerProcess } from './processes.js';

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));
/** dist/bench/*.js next to this file; the gateway's CLI is dist/src/cli/main.js. */
const ENGINE_JS = here('./fake-engine.js');
const PROXY_JS = here('./baseline-proxy.js');
const SLUICE_JS = here('../src/cli/main.js');

export interface Servers {
  engine: ServerProcess;
  proxy: ServerProcess;
  gateway: ServerProcess;
  apiKey: string;
}

async function createKey(configPath: string): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, [SLUICE_JS, ...benchKeyArgs(configPath)], { timeout: 20_000 });
  const key = stdout.trim();
  if (!/^sk-sluice-\S+$/.test(key)) throw new Error(`sluice keys create printed no key: ${JSON.stringify(stdout.slice(0, 200))}`);
  return key;
}

export async function startServers(dir: string, upstreamConnections: number): Promise<Servers> {
  const engine = await spawnServer({ name: 'fake engine', args: [ENGINE_JS], logFile: join(dir, 'engine.log'), ready: /listening on (http:\/\/\S+)/, stdinPipe: true });
  const proxy = await spawnServer({
    name: 'baseline proxy',
    args: [PROXY_JS, engine.url, String(upstreamConnections)],
    logFile: join(dir, 'proxy.log'),
    ready: /listening on (http:\/\/\S+)/,
    stdinPipe: true,
  });

  const configPath = join(dir, 'sluice.yaml');
  writeFileSync(configPath, toYaml(realisticGatewayConfig({ engineOrigin: engine.url, storePath: join(dir, 'sluice.db'), upstreamConnections })));
  // Before serve, on the same store: serve then finds a key and prints none of its own.
  const apiKey = await createKey(configPath);
  const gateway = await spawnServer({
    name: 'gateway',
    args: [SLUICE_JS, 'serve', '--config', configPath],
    logFile: join(dir, 'gateway.log'),
    // "Sluice listening on http://127.0.0.1:PORT/v1": the origin is what the clients need.
    ready: /Sluice listening on (http:\/\/\S+?)\/v1\s/,
    stdinPipe: false,
  });
  return { engine, proxy, gateway, apiKey };
}
