// A token bucket: `perSecond` tokens a second, at most `perSecond` saved up (one second's burst).
// In-process and O(1): for caps that are cheap to check on every request and need no coordination
// between replicas (each replica caps its own share).
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(private readonly perSecond: number, private readonly now: () => number = performance.now.bind(performance)) {
    this.tokens = perSecond;
    this.last = now();
  }

  /** Spends one token if there is one. */
  take(): boolean {
    const t = this.now();
    this.tokens = Math.min(this.perSecond, this.tokens + ((t - this.last) * this.perSecond) / 1000);
    this.last = t;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
