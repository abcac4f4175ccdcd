// The simulated engine's batch slots: at most `maxNumSeqs` sequences run at once, the rest wait
// in a FIFO queue of at most `maxQueue`, as in vLLM's scheduler. Beyond that the engine is full.

export class EngineFullError extends Error {
  constructor() {
    super('engine queue is full');
  }
}

export class SeqScheduler {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly maxNumSeqs: number, private readonly maxQueue: number) {}

  get load(): { running: number; waiting: number } {
    return { running: this.running, waiting: this.waiting.length };
  }

  /** Resolves with a release function once a slot is free. */
  async acquire(signal: AbortSignal): Promise<() => void> {
    if (this.running < this.maxNumSeqs) {
      this.running++;
      return this.releaser();
    }
    if (this.waiting.length >= this.maxQueue) throw new EngineFullError();
    signal.throwIfAborted();
    await new Promise<void>((resolve, reject) => {
      const wake = () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = () => {
        const i = this.waiting.indexOf(wake);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(wake);
    });
    return this.releaser();
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      // The slot passes straight to the next waiter, so `running` only drops when nobody waits.
      if (next) next();
      else this.running--;
    };
  }
}
