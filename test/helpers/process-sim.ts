// A standalone simulator in a child process (`sluice sim`), for tests that kill an engine outright
// (SIGKILL: no goodbye on its sockets) and start it again on the same port.
import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';

const cli = new URL('../../src/cli/main.js', import.meta.url).pathname;

export interface ProcessSim {
  child: ChildProcess;
  /** The OpenAI base URL, http://127.0.0.1:PORT/v1 */
  url: string;
  port: number;
  exited: Promise<void>;
}

async function spawnOnce(port: number, args: string[]): Promise<ProcessSim> {
  const child = spawn(process.execPath, [cli, 'sim', '--port', String(port), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`sluice sim did not start:\n${out}`)), 15_000);
    child.stdout!.on('data', () => {
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`sluice sim exited:\n${out}`));
    });
  });
  return { child, url, port: Number(new URL(url).port), exited };
}

/** Starts `sluice sim` (port 0: any free one); on a given port, retried briefly while it is still taken. */
export async function spawnSim(args: string[] = [], port = 0): Promise<ProcessSim> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await spawnOnce(port, args);
    } catch (err) {
      if (port === 0 || attempt >= 40 || !/EADDRINUSE/.test((err as Error).message)) throw err;
      await sleep(50);
    }
  }
}

/** SIGKILL, and wait until the process is gone. */
export async function killSim(sim: ProcessSim): Promise<void> {
  sim.child.kill('SIGKILL');
  await sim.exited;
}
