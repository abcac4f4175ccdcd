// Why a request's work must stop early (its client left, a timeout fired), and who to tell. An
// AbortSignal does this too, but in Node 20 adding and removing one listener on it costs about
// 4 µs (EventTarget), more than most stages of a request; the request path needs one listener at
// a time and usually none fires. A real AbortSignal is made only for code that asks for one (the
// simulator and its scheduler), and it follows this cancellation.

export type AbortListener = (reason: unknown) => void;

export class Cancellation {
  aborted = false;
  reason: unknown = undefined;
  private listeners: AbortListener[] | undefined;
  private controller: AbortController | undefined;

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.controller?.abort(reason);
    const listeners = this.listeners;
    this.listeners = undefined;
    if (listeners) for (const l of listeners) l(reason);
  }

  /** Calls `listener` once when (or, if already, as soon as) this is aborted; the result undoes it. */
  onAbort(listener: AbortListener): () => void {
    if (this.aborted) {
      listener(this.reason);
      return () => {};
    }
    (this.listeners ??= []).push(listener);
    return () => {
      const i = this.listeners?.indexOf(listener) ?? -1;
      if (i !== -1) this.listeners!.splice(i, 1);
    };
  }

  /** An AbortSignal that aborts with this, with the same reason. */
  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.aborted) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }
}
