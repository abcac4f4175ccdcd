// Log lines of one event-loop turn go to the destination in one write. SonicBoom (pino's
// destination) measures the byte length of its whole pending buffer on every write; at thousands
// of request lines a second that cost more than formatting the lines, and here it is paid once a
// turn. Lines still pending when the process exits are written synchronously.
import type pino from 'pino';

interface Destination extends pino.DestinationStream {
  flush?(cb?: (err?: Error) => void): void;
  flushSync?(): void;
}

const live = new Set<TurnBatch>();
process.on('exit', () => {
  for (const b of live) b.flushSync();
});

export class TurnBatch implements pino.DestinationStream {
  private pending = '';
  private scheduled = false;

  constructor(private readonly dest: Destination) {
    live.add(this);
  }

  write(line: string): void {
    this.pending += line;
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.hand);
    }
  }

  private readonly hand = (): void => {
    this.scheduled = false;
    const lines = this.pending;
    this.pending = '';
    if (lines !== '') this.dest.write(lines);
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
