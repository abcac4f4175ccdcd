// A gateway in a child process (`sluice serve --config`), for tests that kill or signal it.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';

const cli = new URL('../../src/cli/main.js', import.meta.url).pathname;

export interface ProcessGateway {
  child: ChildProcess;
  url: string;
  dir: string;
  configFile: string;
  output(): string;
  exited: Promise<number | null>;
}

export function writeConfig(doc: Record<string, unknown>, dir = mkdtempSync(join(tmpdir(), 'sluice-proc-'))): { dir: string; file: string } {
  const file = join(dir, 'sluice.yaml');
  writeFileSync(file, stringify({ store: `sqlite://${join(dir, 'sluice.db')}`, logLevel: 'warn', ...doc, server: { host: '127.0.0.1', port: 0, ...(doc.server as object | undefined) } }));
  return { dir, file };
}

export async function spawnGateway(configFile: string, dir: string, env: NodeJS.ProcessEnv = {}): Promise<ProcessGateway> {
  const child = spawn(process.execPath, [cli, 'serve', '--config', configFile], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway did not start:\n${out}`)), 15_000);
    child.stdout!.on('data', () => {
      const m = /Sluice listening on (http:\/\/\S+)\/v1/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    void exited.then((code) => reject(new Error(`gateway exited ${code}:\n${out}`)));
  });
  return { child, url, dir, configFile, output: () => out, exited };
}

/** Stops a gateway (SIGTERM: it drains and exits) and removes its directory. */
export async function stopGateway(gw: ProcessGateway): Promise<void> {
  gw.child.kill('SIGTERM');
  await gw.exited;
  rmSync(gw.dir, { recursive: true, force: true });
}
