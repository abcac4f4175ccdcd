// The ledger's write-ahead journal. A settled request is appended here before its response's last
// byte is sent, and written to the database a moment later in large batches. Appends made in one
// turn of the event loop share one write(2) at the end of the turn (setImmediate), so a busy
// gateway pays one system call per turn instead of one per request. A write(2) lands in the
// kernel's page cache, so it survives the gateway being SIGKILLed; on the next start every journal
// left by a dead process is replayed, and the database applies each row exactly once (the
// ledger's request id is its primary key).
//
// Files: <dir>/<pid>-<boot>-<seq>.journal, one settlement per line (settlement-line.ts;
// process-identity.ts says why the boot id). A hand-over to the database that finds the file
// older than ROTATE_MS starts a new one; a file is deleted once it is no longer written and all
// its rows are committed. Rows committed but still in a file are harmless: a replay applies each
// request id once. So a journal holds about a second of rows, and files are not opened and
// deleted at every batch.
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Settlement } from '../store/billing-repo.js';
import { decodeSettlement, encodeSettlement } from './settlement-line.js';
import { BOOT, gone } from './process-identity.js';

/** pid, the writer's boot id (absent in files of older versions), sequence. */
const NAME = /^(\d+)-(?:([0-9a-f]+)-)?(\d+)\.journal$/;
/** Journals open in this process, by their boot id: never orphans while it runs. */
const openHere = new Set<string>();
/** A journal file is written for about this long before the next one starts. */
const ROTATE_MS = 1_000;

/**
 * Invariants: only the current file is written; a file is retired (and a new one becomes current)
 * only inside rotate(), after write() put every appended line in it and its last batch was
 * counted in `uncommitted`; so a retired file with `uncommitted` at 0 holds only committed rows and
 * can go. `closed` guards against closing a descriptor twice (close() and a late done()).
 */
interface JournalFile {
  path: string;
  fd: number;
  openedAt: number;
  /** Batches handed over from it and not yet committed. */
  uncommitted: number;
  /** No longer written: deleted once `uncommitted` is 0. */
  retired: boolean;
  closed: boolean;
}

export class LedgerJournal {
  private seq = 0;
  /** This process's boot id, plus a suffix per journal so two gateways in one process never collide. */
  private readonly boot = `${BOOT}${randomBytes(2).toString('hex')}`;
  private file: JournalFile;
  private pending: Settlement[] = [];
  /** The pending settlements as written: JSON lines, handed over with them (see rotate). */
  private pendingText = '';
  /** Appended this turn, not yet written: their lines, and the callers waiting on the write. */
  private unwritten: Settlement[] = [];
  private lines = '';
  private waiters: Array<{ resolve: () => void; reject: (err: unknown) => void }> = [];
  private writeScheduled = false;
  private closed = false;

  constructor(private readonly dir: string) {
    mkdirSync(dir, { recursive: true });
    openHere.add(this.boot);
    this.file = this.nextFile();
  }

  private nextFile(): JournalFile {
    const path = join(this.dir, `${process.pid}-${this.boot}-${++this.seq}.journal`);
    return { path, fd: openSync(path, 'a'), openedAt: Date.now(), uncommitted: 0, retired: false, closed: false };
  }

  /** Deletes a file nobody writes to and whose rows are all committed. */
  private static dispose(file: JournalFile): void {
    if (!file.retired || file.uncommitted > 0 || file.closed) return;
    file.closed = true;
    closeSync(file.fd);
    unlinkSync(file.path);
  }

  /** Resolves once the settlement is durable against a crash of this process. */
  append(s: Settlement): Promise<void> {
    this.lines += `${encodeSettlement(s)}\n`;
    this.unwritten.push(s);
    return new Promise<void>((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      if (!this.writeScheduled) {
        this.writeScheduled = true;
        setImmediate(() => this.write());
      }
    });
  }

  /** Writes everything appended so far (one write(2)) and releases its callers. */
  private write(): void {
    this.writeScheduled = false;
    if (this.unwritten.length === 0) return;
    const waiters = this.waiters;
    const written = this.unwritten;
    const lines = this.lines;
    this.waiters = [];
    this.unwritten = [];
    this.lines = '';
    try {
      // After close(), a late settlement fails as a write to a closed file always did, and never
      // lands in a file that close() already deleted.
      if (this.closed) throw new Error('the ledger journal is closed');
      const bytes = Buffer.from(lines);
      for (let at = 0; at < bytes.length; ) at += writeSync(this.file.fd, bytes, at);
    } catch (err) {
      for (const w of waiters) w.reject(err);
      return;
    }
    for (const s of written) this.pending.push(s);
    this.pendingText += lines;
    for (const w of waiters) w.resolve();
  }

  /** Settlements appended and not yet handed to the database. */
  get size(): number {
    return this.pending.length + this.unwritten.length;
  }

  /**
   * Hands over what is pending, also as its journal lines (a worker thread takes the text more
   * cheaply than the objects); `done()` once they are committed lets their file go.
   */
  rotate(): { batch: Settlement[]; text: string; done: () => void } {
    this.write(); // what was appended this turn belongs to this hand-over
    const batch = this.pending;
    const text = this.pendingText;
    this.pendingText = '';
    this.pending = [];
    const file = this.file;
    file.uncommitted++;
    if (!file.closed && Date.now() - file.openedAt >= ROTATE_MS) {
      file.retired = true;
      this.file = this.nextFile();
    }
    return {
      batch,
      text,
      done: () => {
        file.uncommitted--;
        LedgerJournal.dispose(file);
      },
    };
  }

  /** Closes the journal; its file goes if all its rows were committed (flush first). */
  close(): void {
    this.write();
    this.closed = true;
    openHere.delete(this.boot);
    this.file.retired = true;
    if (this.pending.length === 0) LedgerJournal.dispose(this.file);
    else if (!this.file.closed) {
      this.file.closed = true;
      closeSync(this.file.fd); // its rows wait there for the next start's replay
    }
  }

  /** Settlements of journal lines; a line cut short by a crash was never acknowledged: skipped. */
  static parseLines(text: string, into: Settlement[] = []): Settlement[] {
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      try {
        into.push(decodeSettlement(line));
      } catch {
        continue;
      }
    }
    return into;
  }

  /** Journals of processes that are gone: their settlements, and a way to delete the files after. */
  static orphans(dir: string): { batch: Settlement[]; done: () => void } {
    if (!existsSync(dir)) return { batch: [], done: () => {} };
    const files = readdirSync(dir).filter((f) => {
      const m = NAME.exec(f);
      if (m === null) return false;
      const boot = m[2];
      if (boot !== undefined && openHere.has(boot)) return false;
      return gone(Number(m[1]), boot?.slice(0, BOOT.length));
    });
    const batch: Settlement[] = [];
    for (const f of files) LedgerJournal.parseLines(readFileSync(join(dir, f), 'utf8'), batch);
    return { batch, done: () => files.forEach((f) => unlinkSync(join(dir, f))) };
  }
}
