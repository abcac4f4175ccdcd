// The sequences of one llama context (its `parallel` generation slots): a request takes one for
// its generation and gives it back; later requests wait in arrival order, and a waiter whose
// client leaves stops waiting at once.
import type { Cancellation } from '../../server/cancellation.js';

interface Waiter<S> {
  resolve: (s: S) => void;
  reject: (reason: unknown) => void;
  undo: () => void;
}

export class SequencePool<S> {
  private readonly free: S[];
  private readonly waiters: Waiter<S>[] = [];

  constructor(sequences: S[]) {
    this.free = [...sequences];
  }

  get waiting(): number {
    return this.waiters.length;
  }

  acquire(cancel: Cancellation): Promise<S> {
    if (cancel.aborted) return Promise.reject(cancel.reason);
    const s = this.free.pop();
    if (s !== undefined) return Promise.resolve(s);
    return new Promise<S>((resolve, reject) => {
      const waiter: Waiter<S> = { resolve, reject, undo: () => {} };
      waiter.undo = cancel.onAbort((reason) => {
        const i = this.waiters.indexOf(waiter);
        if (i !== -1) this.waiters.splice(i, 1);
        reject(reason);
      });
      this.waiters.push(waiter);
    });
  }

  release(s: S): void {
    const next = this.waiters.shift();
    if (!next) {
      this.free.push(s);
      return;
    }
    next.undo();
    next.resolve(s);
  }
}
