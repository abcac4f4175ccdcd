// Group commit: callers submit one item each and await its own result, while the items that
// arrive during a flush go to the database together in the next one. An idle gateway flushes
// at once (no added latency); a busy one does one transaction per batch instead of per request.

export type FlushFn<T, R> = (items: T[]) => Promise<R[]>;

export class GroupCommit<T, R> {
  private queue: Array<{ item: T; resolve: (r: R) => void; reject: (e: unknown) => void }> = [];
  private flushing = false;

  constructor(private readonly flush: FlushFn<T, R>, private readonly maxBatch = 256) {}

  submit(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (!this.flushing) {
        this.flushing = true;
        // setImmediate, not a microtask: the flush waits for this turn of the event loop to
        // finish reading sockets, so requests that arrived together share a batch. (With a
        // synchronous driver such as SQLite's a flush never yields, so without this every batch
        // would hold one request.)
        setImmediate(() => void this.drain());
      }
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      try {
        const results = await this.flush(batch.map((b) => b.item));
        batch.forEach((b, i) => b.resolve(results[i]!));
      } catch (err) {
        for (const b of batch) b.reject(err);
      }
    }
    this.flushing = false;
  }

  /** Resolves once everything submitted so far is flushed. */
  async idle(): Promise<void> {
    while (this.flushing) await new Promise((r) => setTimeout(r, 1));
  }
}
