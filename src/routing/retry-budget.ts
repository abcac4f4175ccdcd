// A model's retry budget (Finagle's RetryBudget, Envoy's retry_budget): retries may add at most
// `budgetRatio` of the model's recent requests, plus a floor of `minPerSecond` so that a quiet
// model can still retry a blip. When every deployment fails, traffic to the engines grows by at
// most that share instead of multiplying by the attempt count: a retry storm cannot start here.
//
// Counted over a sliding window of `budgetWindowMs` in ten slots; first attempts deposit, retries
// withdraw.
const SLOTS = 10;

export interface RetryBudgetConfig {
  budgetRatio: number;
  minPerSecond: number;
  budgetWindowMs: number;
}

export class RetryBudget {
  private readonly slotMs: number;
  private readonly slots = Array.from({ length: SLOTS }, () => ({ start: -Infinity, requests: 0, retries: 0 }));

  constructor(private readonly config: RetryBudgetConfig, private readonly now: () => number = () => performance.now()) {
    this.slotMs = config.budgetWindowMs / SLOTS;
  }

  /** A request's first attempt. */
  request(): void {
    this.slot().requests++;
  }

  /** Takes one retry from the budget; false when it is spent (the request gets its error now). */
  tryRetry(): boolean {
    const { requests, retries } = this.totals();
    const allowed = this.config.budgetRatio * requests + this.config.minPerSecond * (this.config.budgetWindowMs / 1000);
    if (retries + 1 > allowed) return false;
    this.slot().retries++;
    return true;
  }

  private slot(): { start: number; requests: number; retries: number } {
    const t = this.now();
    const index = Math.floor(t / this.slotMs);
    const slot = this.slots[index % SLOTS]!;
    const start = index * this.slotMs;
    if (slot.start !== start) {
      slot.start = start;
      slot.requests = 0;
      slot.retries = 0;
    }
    return slot;
  }

  private totals(): { requests: number; retries: number } {
    const oldest = (Math.floor(this.now() / this.slotMs) - SLOTS + 1) * this.slotMs;
    let requests = 0;
    let retries = 0;
    for (const s of this.slots) {
      if (s.start >= oldest) {
        requests += s.requests;
        retries += s.retries;
      }
    }
    return { requests, retries };
  }
}
