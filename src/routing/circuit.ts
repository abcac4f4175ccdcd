// Passive outlier detection for one deployment, as a circuit breaker (Envoy's outlier detection,
// Hystrix/resilience4j's breaker): the outcomes of real requests decide whether it gets more.
//
//   closed     requests flow; `consecutiveFailures` failures in a row, or a failure ratio of at
//              least `failureRatio` over the last `windowMs` (with `minRequests` in it), open it.
//   open       nothing is sent until the cooldown ends. The cooldown doubles each time the circuit
//              opens again without a success in between (Envoy's ejection time × ejection count),
//              up to maxCooldownMs, so a deployment that keeps failing is tried less and less.
//   half-open  after the cooldown, one request is let through as a probe; its success closes the
//              circuit, its failure opens it again (with the longer cooldown).
//
// Active health checks (health-check.ts) keep their own verdict beside it, and close it when the
// engine passes again. What counts as a failure is the
// router's decision (attempt-outcome.ts): an engine at capacity is busy, not broken.
import type { CircuitBreakerConfig } from '../config/schema.js';
import { SlidingCounts } from './sliding-counts.js';

export type CircuitState = 'closed' | 'open' | 'half-open';

export interface CircuitEvents {
  changed?(from: CircuitState, to: CircuitState, why: string): void;
}

export class Circuit {
  private state: CircuitState = 'closed';
  private consecutive = 0;
  /** Times opened since the last success: the cooldown's exponent. */
  private openings = 0;
  private openUntil = 0;
  private probing = false;
  /** Outcomes over the ratio window; a: successes, b: failures. */
  private readonly outcomes: SlidingCounts;

  constructor(private readonly config: CircuitBreakerConfig, private readonly events: CircuitEvents = {}, private readonly now: () => number = () => performance.now()) {
    this.outcomes = new SlidingCounts(config.windowMs, now);
  }

  /** The state now (an open circuit whose cooldown ended reads as half-open). */
  get current(): CircuitState {
    if (this.state === 'open' && this.now() >= this.openUntil) this.move('half-open', 'cooldown over');
    return this.state;
  }

  /** When an open circuit will let a probe through (performance.now() clock); 0 when not open. */
  get reopensAt(): number {
    return this.current === 'open' ? this.openUntil : 0;
  }

  /** Whether a request may be sent now; a half-open circuit lets one probe through at a time. */
  available(): boolean {
    const s = this.current;
    return s === 'closed' || (s === 'half-open' && !this.probing);
  }

  /** Called when a request is sent: in half-open state it is the probe. Returns whether it was. */
  take(): boolean {
    if (this.current !== 'half-open' || this.probing) return false;
    this.probing = true;
    return true;
  }

  /** A probe taken but never decided (the client left, say): the next request may probe. */
  abandon(probe: boolean): void {
    if (probe) this.probing = false;
  }

  success(probe = false): void {
    if (probe) this.probing = false;
    this.outcomes.add('a');
    this.consecutive = 0;
    if (this.state !== 'closed') {
      this.openings = 0;
      this.move('closed', probe ? 'probe succeeded' : 'request succeeded');
    } else this.openings = 0;
  }

  failure(probe = false): void {
    if (probe) this.probing = false;
    this.outcomes.add('b');
    this.consecutive++;
    if (this.state === 'half-open') return this.open('probe failed');
    if (this.state === 'open') return;
    const c = this.config;
    if (this.consecutive >= c.consecutiveFailures) return this.open(`${this.consecutive} consecutive failures`);
    const { a: ok, b: failed } = this.outcomes.totals();
    if (ok + failed >= c.minRequests && failed / (ok + failed) >= c.failureRatio) this.open(`${failed} of ${ok + failed} requests failed in ${c.windowMs} ms`);
  }

  /** Closed from outside (active health checks pass again). */
  forceClose(why: string): void {
    this.consecutive = 0;
    this.openings = 0;
    this.probing = false;
    if (this.state !== 'closed') this.move('closed', why);
  }

  private open(why: string): void {
    const c = this.config;
    this.openUntil = this.now() + Math.min(c.maxCooldownMs, c.cooldownMs * 2 ** this.openings);
    this.openings++;
    this.probing = false;
    this.move('open', why);
  }

  private move(to: CircuitState, why: string): void {
    const from = this.state;
    this.state = to;
    if (from !== to) this.events.changed?.(from, to, why);
  }
}
