// Who wrote a journal file or holds a credit lease, and whether that writer is gone. A pid alone
// is not enough: in a container the gateway is pid 1 on every start, so a crashed gateway's pid
// is the restarted one's. Each process start therefore also has a random boot id, and each
// journal directory a random instance id (so replicas sharing a database never take each other's
// leases: a replica only recovers what its own directory's processes left).
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** This process start. */
export const BOOT = randomBytes(4).toString('hex');

function alive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether the process that wrote as (pid, boot) has ended. An unknown boot is an older format. */
export function gone(pid: number, boot: string | undefined): boolean {
  if (pid === process.pid) return boot !== undefined && boot !== BOOT;
  return !alive(pid);
}

/** The instance id of a journal directory, made on first use. */
export function instanceOf(dir: string): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'instance-id');
  if (existsSync(file)) {
    const id = readFileSync(file, 'utf8').trim();
    if (/^[0-9a-f]{16}$/.test(id)) return id;
  }
  const id = randomBytes(8).toString('hex');
  writeFileSync(file, `${id}\n`);
  return id;
}

/** `<instance>:<pid>:<boot>` */
export function holderName(instance: string): string {
  return `${instance}:${process.pid}:${BOOT}`;
}

/** Whether a lease holder named by holderName has ended. */
export function holderGone(holder: string): boolean {
  const [, pid, boot] = holder.split(':');
  return gone(Number(pid), boot);
}
