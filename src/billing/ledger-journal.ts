// The ledger's write-ahead journal. A settled request is appended here (one write(2), a few
// microseconds) before its response's last byte is sent, and written to the database a moment
// later in large batches. A write(2) lands in the kernel's page cache, so it survives the gateway
// being SIGKILLed; on the next start every journal left by a dead process is replayed, and the
// database applies each row exactly once (the ledger's request id is its primary key).
//
// Files: <dir>/<pid>-<seq>.journal, one JSON settlement per line. A flush starts a new file and
// deletes the old one once its rows are committed, so a journal never grows past one batch.
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Settlement } from '../store/billing-repo.js';

const NAME = /^(\d+)-(\d+)\.journal$/;

function alive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class LedgerJournal {
  private seq = 0;
  private fd: number;
  private file: string;
  private pending: Settlement[] = [];

  constructor(private readonly dir: string) {
    mkdirSync(dir, { recursive: true });
    this.file = this.nextFile();
    this.fd = openSync(this.file, 'a');
  }

  private nextFile(): string {
    return join(this.dir, `${process.pid}-${++this.seq}.journal`);
  }

  /** Durable against a crash of this process once it returns. */
  append(s: Settlement): void {
    writeSync(this.fd, `${JSON.stringify(s)}\n`);
    this.pending.push(s);
  }

  get size(): number {
    return this.pending.length;
  }

  /** Hands over what is pending and starts a new file; `done()` deletes the old one once committed. */
  rotate(): { batch: Settlement[]; done: () => void } {
    const batch = this.pending;
    const oldFd = this.fd;
    const oldFile = this.file;
    this.pending = [];
    this.file = this.nextFile();
    this.fd = openSync(this.file, 'a');
    return {
      batch,
      done: () => {
        closeSync(oldFd);
        unlinkSync(oldFile);
      },
    };
  }

  close(): void {
    closeSync(this.fd);
    if (this.pending.length === 0 && existsSync(this.file)) unlinkSync(this.file);
  }

  /** Journals of processes that are gone: their settlements, and a way to delete the files after. */
  static orphans(dir: string): { batch: Settlement[]; done: () => void } {
    if (!existsSync(dir)) return { batch: [], done: () => {} };
    const files = readdirSync(dir).filter((f) => {
      const m = NAME.exec(f);
      return m !== null && !alive(Number(m[1]));
    });
    const batch: Settlement[] = [];
    for (const f of files) {
      for (const line of readFileSync(join(dir, f), 'utf8').split('\n')) {
        // A line cut short by the crash was never acknowledged to its client: skip it.
        if (line.trim() === '') continue;
        try {
          batch.push(JSON.parse(line) as Settlement);
        } catch {
          continue;
        }
      }
    }
    return { batch, done: () => files.forEach((f) => unlinkSync(join(dir, f))) };
  }
}
