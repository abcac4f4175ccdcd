// Log lines of one event-loop turn go to the destination in one write. SonicBoom (pino's
// destination) measures the byte length of its whole pending buffer on every write; at thousands
// of request lines a second that cost more than formatting the lines, and here it is paid once a
// turn. Lines still pending when the process exits are written synchronously. A destination that
// fails drops the turn's lines: logging never takes the gateway down.
import type pino from 'pino';

interface Destination extends pino.DestinationStream {
  flush?(cb?: (err?: Error) => void): void;
  flushSync?(): void;
}

/** Batches holding lines not yet handed over: the exit hook's work. */
const pending = new Set<TurnBatch>();
process.on('exit', () => {
  for (const b of pending) b.flushSync();
});

export class TurnBatch implements pino.DestinationStream {
  private lines = '';
  private scheduled = false;

  constructor(private readonly dest: Destination) {}

  write(line: string): void {
    this.lines += line;
    if (!this.scheduled) {
      this.scheduled = true;
      pending.add(this);
      setImmediate(this.hand);
    }
  }

  private readonly hand = (): void => {
    this.scheduled = false;
    pending.delete(this);
    const lines = this.lines;
    this.lines = '';
    if (lines === '') return;
    try {
      this.dest.write(lines);
    } catch {
      // A destroyed or failing destination: these lines are lost, the requests are not.
    }
  };

  /** pino's logger.flush(): what is pending now, then the destination's own flush. */
  flush(cb?: (err?: Error) => void): void {
    this.hand();
    if (this.dest.flush) this.dest.flush(cb);
    else cb?.();
  }

  flushSync(): void {
    this.hand();
    try {
      this.dest.flushSync?.();
    } catch {
      // A destination not open yet (sonic-boom) has nothing of ours to lose: the write above queued it.
    }
  }
}
