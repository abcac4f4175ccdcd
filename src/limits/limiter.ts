// Where rate-limit state lives: this process's memory (the embedded default) or Redis shared by
// every replica. The request path sees one interface; the memory backend answers synchronously,
// so an unshared gateway pays no promise for its limits.
import type { LimitStoreConfig } from '../config/schema.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { LimitCheck } from './gcra.js';
import { MemoryLimiter, type LimitResult } from './memory-limiter.js';
import { RedisLimiter } from './redis-limiter.js';

/** A decision, and where its spend was made (a correction goes to the same place). */
export interface TakenLimits extends LimitResult {
  local: boolean;
}

export interface RateLimiter {
  take(checks: readonly LimitCheck[]): TakenLimits | Promise<TakenLimits>;
  /** Settles a spend to what was really used: `delta` units more each (fewer when negative). */
  correct(checks: readonly LimitCheck[], delta: number, local: boolean): void;
  close(): Promise<void>;
}

class LocalLimiter implements RateLimiter {
  private readonly memory = new MemoryLimiter();

  take(checks: readonly LimitCheck[]): TakenLimits {
    const r = this.memory.take(checks) as TakenLimits;
    r.local = true;
    return r;
  }

  correct(checks: readonly LimitCheck[], delta: number): void {
    this.memory.correct(checks, delta);
  }

  async close(): Promise<void> {}
}

/** Connects to the configured store; a Redis that does not answer fails the start when failing closed. */
export async function openLimiter(config: LimitStoreConfig, logger: Logger, metrics: Metrics): Promise<RateLimiter> {
  if (config.store === 'memory') return new LocalLimiter();
  const limiter = new RedisLimiter(config, logger, metrics);
  await limiter.connect();
  return limiter;
}
