// Every server in the benchmark is a child process. This module starts them, waits for the line
// that says where they listen, notices when one dies, and makes sure none outlives the benchmark:
// on normal exit, on error and on SIGINT/SIGTERM.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

export interface ServerProcess {
  name: string;
  proc: ChildProcess;
  pid: number;
  /** The URL the server printed, e.g. http://127.0.0.1:41234 */
  url: string;
  /** Its stdout and stderr: the gateway's request log, and where to look when something fails. */
  logFile: string;
}

const running = new Set<ServerProcess>();
let stopping = false;
const deaths: string[] = [];

export interface SpawnOptions {
  name: string;
  args: string[];
  logFile: string;
  /** Matches the ready line; group 1 is the URL. */
  ready: RegExp;
  /** Our own servers exit when this pipe closes; the gateway gets no stdin. */
  stdinPipe: boolean;
  timeoutMs?: number;
}

export async function spawnServer(o: SpawnOptions): Promise<ServerProcess> {
  // Output goes to a file, not a pipe to us: the gateway logs a line per request, and a file never
  // blocks it nor costs the load generator (this process) any CPU to drain.
  const fd = openSync(o.logFile, 'w');
  const proc = spawn(process.execPath, o.args, { stdio: [o.stdinPipe ? 'pipe' : 'ignore', fd, fd] });
  closeSync(fd);
  if (proc.pid === undefined) throw new Error(`${o.name}: could not start (${o.args.join(' ')})`);
  const server: ServerProcess = { name: o.name, proc, pid: proc.pid, url: '', logFile: o.logFile };
  running.add(server);
  let exited: string | undefined;
  proc.once('exit', (code, signal) => {
    running.delete(server);
    exited = `${o.name} exited (${signal ?? `code ${code}`}); see ${o.logFile}`;
    if (!stopping) deaths.push(exited);
  });

  const deadline = Date.now() + (o.timeoutMs ?? 15_000);
  while (Date.now() < deadline) {
    const match = o.ready.exec(readFileSync(o.logFile, 'utf8'));
    if (match?.[1]) {
      server.url = match[1];
      return server;
    }
    if (exited) throw new Error(`${exited} before it was ready`);
    await sleep(25);
  }
  throw new Error(`${o.name} did not print its address within ${o.timeoutMs ?? 15_000} ms; see ${o.logFile}`);
}

/** Throws if a server died since the benchmark started: its numbers would be meaningless. */
export function assertAllAlive(): void {
  if (deaths.length > 0) throw new Error(deaths.join('; '));
}

/** SIGTERM, then SIGKILL for whatever is still there after `graceMs` (the gateway drains streams). */
export async function stopAll(graceMs = 2_000): Promise<void> {
  stopping = true;
  const all = [...running];
  await Promise.all(all.map(async (s) => {
    const gone = new Promise<void>((resolve) => {
      if (s.proc.exitCode !== null || s.proc.signalCode !== null) resolve();
      else s.proc.once('exit', () => resolve());
    });
    s.proc.kill('SIGTERM');
    const timer = setTimeout(() => s.proc.kill('SIGKILL'), graceMs);
    await gone;
    clearTimeout(timer);
  }));
}

/** Last resort on any exit path: synchronous, so it also runs from process.on('exit'). */
function killAllNow(): void {
  for (const s of running) s.proc.kill('SIGKILL');
}

/** Installs the exit, SIGINT and SIGTERM handlers that take the children down with us. */
export function killChildrenOnExit(onSignal: (signal: NodeJS.Signals) => void): void {
  process.once('exit', killAllNow);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => onSignal(signal));
}
