// A model's retry budget (Finagle's RetryBudget, Envoy's retry_budget): retries may add at most
// `budgetRatio` of the model's recent requests, plus a floor of `minPerSecond` so that a quiet
// model can still retry a blip. When every deployment fails, traffic to the engines grows by at
// most that share instead of multiplying by the attempt count: a retry storm cannot start here.
//
// Counted over a sliding window of `budgetWindowMs`; first attempts deposit, retries withdraw.
import { SlidingCounts } from './sliding-counts.js';

export interface RetryBudgetConfig {
  budgetRatio: number;
  minPerSecond: number;
  budgetWindowMs: number;
}

export class RetryBudget {
  /** a: requests (first attempts), b: retries. */
  private readonly counts: SlidingCounts;

  constructor(private readonly config: RetryBudgetConfig, now: () => number = () => performance.now()) {
    this.counts = new SlidingCounts(config.budgetWindowMs, now);
  }

  /** A request's first attempt. */
  request(): void {
    this.counts.add('a');
  }

  /** Takes one retry from the budget; false when it is spent (the request gets its error now). */
  tryRetry(): boolean {
    const { a: requests, b: retries } = this.counts.totals();
    const allowed = this.config.budgetRatio * requests + this.config.minPerSecond * (this.config.budgetWindowMs / 1000);
    if (retries + 1 > allowed) return false;
    this.counts.add('b');
    return true;
  }
}
