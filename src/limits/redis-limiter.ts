// Rate limits shared by every replica through Redis: one script call per request decides all of
// its limits atomically on Redis's own clock (replicas' clocks never disagree about a limit), so
// N replicas enforce one limit, not N. Keys are prefixed and expire once the limit is full again.
//
// Redis down or slow: after a bounded wait (timeoutMs) the store counts as down for that request,
// and the configured choice applies: failClosed refuses with 503 dependency_unavailable, failOpen
// decides in this replica's memory (logged once per outage, counted per decision). The client
// reconnects on its own; the first answer after an outage ends it.
import { Redis } from 'ioredis';
import type { LimitStoreConfig } from '../config/schema.js';
import { GatewayError } from '../errors/gateway-error.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { WINDOW_MS, type LimitCheck, type Verdict } from './gcra.js';
import type { RateLimiter, TakenLimits } from './limiter.js';
import { MemoryLimiter } from './memory-limiter.js';

/** gcra.ts's decideAll in Lua. KEYS: counters; ARGV: per-minute limit and cost of each, in pairs. */
const TAKE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = ${WINDOW_MS}
local n = #KEYS
local tats, nexts, nevers, oks = {}, {}, {}, {}
local allowed = 1
for i = 1, n do
  local per = tonumber(ARGV[2 * i - 1])
  local cost = tonumber(ARGV[2 * i])
  local tat = tonumber(redis.call('GET', KEYS[i]) or '0')
  local base = math.max(tat, now)
  local nxt = base + cost * (window / per)
  nevers[i] = cost > per
  oks[i] = (not nevers[i]) and (nxt - now <= window)
  if not oks[i] then allowed = 0 end
  tats[i] = base
  nexts[i] = nxt
end
local out = { allowed }
for i = 1, n do
  local per = tonumber(ARGV[2 * i - 1])
  local interval = window / per
  local after = tats[i]
  if allowed == 1 then
    after = nexts[i]
    redis.call('SET', KEYS[i], string.format('%.3f', after), 'PX', math.ceil(after - now) + 1000)
  end
  local retry = 0
  if not oks[i] and not nevers[i] then retry = math.ceil(nexts[i] - now - window) end
  out[#out + 1] = oks[i] and 1 or 0
  out[#out + 1] = math.max(0, math.floor((window - (after - now)) / interval + 1e-9))
  out[#out + 1] = math.max(0, math.ceil(after - now))
  out[#out + 1] = retry
  out[#out + 1] = nevers[i] and 1 or 0
end
return out
`;

/** gcra.ts's correct in Lua, for several counters at once. ARGV: delta, then each per-minute limit. */
const CORRECT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local delta = tonumber(ARGV[1])
for i = 1, #KEYS do
  local tat = tonumber(redis.call('GET', KEYS[i]) or '')
  if tat then
    local moved = tat + delta * (${WINDOW_MS} / tonumber(ARGV[i + 1]))
    if delta < 0 then moved = math.max(moved, math.min(tat, now)) end
    if moved <= now then redis.call('DEL', KEYS[i])
    else redis.call('SET', KEYS[i], string.format('%.3f', moved), 'PX', math.ceil(moved - now) + 1000) end
  end
end
return 0
`;

interface ScriptedRedis extends Redis {
  sluiceTake(numKeys: number, ...args: Array<string | number>): Promise<number[]>;
  sluiceCorrect(numKeys: number, ...args: Array<string | number>): Promise<number>;
}

/** How long a start-up connection attempt may take. */
const CONNECT_TIMEOUT_MS = 2_000;
/** Retry advice while the store is down and the gateway fails closed. */
const DOWN_RETRY_MS = 1_000;

function verdictsOf(reply: number[], n: number): Verdict[] {
  const verdicts: Verdict[] = [];
  for (let i = 0; i < n; i++) {
    const o = 1 + i * 5;
    verdicts.push({ allowed: reply[o] === 1, tat: 0, remaining: reply[o + 1]!, resetMs: reply[o + 2]!, retryAfterMs: reply[o + 3]!, neverFits: reply[o + 4] === 1 });
  }
  return verdicts;
}

/** Where the store is, for logs: never its password. */
function describe(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.hostname}:${u.port || 6379}${u.pathname}`;
}

export class RedisLimiter implements RateLimiter {
  private readonly redis: ScriptedRedis;
  /** Decides while the store is down and the gateway fails open. */
  private readonly fallback = new MemoryLimiter();
  private outage = false;

  constructor(private readonly config: LimitStoreConfig, private readonly logger: Logger, private readonly metrics: Metrics) {
    this.redis = new Redis(config.store, {
      lazyConnect: true,
      // A check waits timeoutMs at most; while disconnected, commands fail at once rather than queue.
      commandTimeout: config.timeoutMs,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      connectTimeout: CONNECT_TIMEOUT_MS,
      // Reconnect forever, quickly at first: recovery is automatic when Redis returns.
      retryStrategy: (times) => Math.min(50 * times, 1_000),
      // Checks of requests arriving in one event-loop turn go out in one write.
      enableAutoPipelining: true,
    }) as ScriptedRedis;
    this.redis.defineCommand('sluiceTake', { lua: TAKE });
    this.redis.defineCommand('sluiceCorrect', { lua: CORRECT });
    // Errors surface through the commands that fail; without a listener ioredis prints each one.
    this.redis.on('error', () => {});
  }

  async connect(): Promise<void> {
    try {
      await Promise.race([
        this.redis.connect(),
        new Promise((_, reject) => setTimeout(() => reject(new Error(`no answer within ${CONNECT_TIMEOUT_MS} ms`)), CONNECT_TIMEOUT_MS).unref()),
      ]);
      await this.redis.ping();
    } catch (err) {
      const message = `the rate-limit store ${describe(this.config.store)} does not answer: ${(err as Error).message}`;
      if (this.config.onStoreDown === 'failClosed') {
        this.redis.disconnect();
        throw new Error(`${message} (limits.onStoreDown is failClosed; start Redis, or set failOpen to start without it)`);
      }
      this.logger.warn({ store: describe(this.config.store) }, `${message}; limiting per replica in memory until it answers (failOpen)`);
      this.outage = true;
      // ioredis gives up after a failed first connect; keep trying in the background.
      if (this.redis.status === 'end' || this.redis.status === 'wait') this.redis.connect().catch(() => {});
    }
  }

  take(checks: readonly LimitCheck[]): Promise<TakenLimits> {
    const args: Array<string | number> = [];
    for (const c of checks) args.push(this.config.keyPrefix + c.key);
    for (const c of checks) args.push(c.perMinute, c.cost);
    return this.redis.sluiceTake(checks.length, ...args).then(
      (reply) => {
        if (this.outage) this.recovered();
        return { allowed: reply[0] === 1, verdicts: verdictsOf(reply, checks.length), local: false };
      },
      (err: unknown) => this.storeDown(checks, err),
    );
  }

  correct(checks: readonly LimitCheck[], delta: number, local: boolean): void {
    if (delta === 0 || checks.length === 0) return;
    if (local) {
      this.fallback.correct(checks, delta);
      return;
    }
    const args: Array<string | number> = checks.map((c) => this.config.keyPrefix + c.key);
    args.push(delta, ...checks.map((c) => c.perMinute));
    // Off the request path: a correction lost to an outage only leaves a limit a little off.
    this.redis.sluiceCorrect(checks.length, ...args).catch((err: unknown) => this.metrics.limitStoreErrors.inc({ op: 'correct', reason: reasonOf(err) }));
  }

  private storeDown(checks: readonly LimitCheck[], err: unknown): TakenLimits {
    this.metrics.limitStoreErrors.inc({ op: 'take', reason: reasonOf(err) });
    const failOpen = this.config.onStoreDown === 'failOpen';
    if (!this.outage) {
      this.outage = true;
      this.logger.warn({ store: describe(this.config.store), err: String(err) }, failOpen ? 'rate-limit store down: limiting per replica in memory (failOpen)' : 'rate-limit store down: refusing limited requests with 503 (failClosed)');
    }
    if (!failOpen) {
      throw new GatewayError('dependency_unavailable', { message: 'The rate-limit store is unavailable.', retryAfterMs: DOWN_RETRY_MS, cause: err });
    }
    this.metrics.limitFailOpen.inc();
    const r = this.fallback.take(checks) as TakenLimits;
    r.local = true;
    return r;
  }

  private recovered(): void {
    this.outage = false;
    this.logger.info({ store: describe(this.config.store) }, 'rate-limit store answers again: limits are shared again');
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }
}

function reasonOf(err: unknown): string {
  const message = String((err as Error)?.message ?? err);
  return /timed out/i.test(message) ? 'timeout' : /writeable|connect|closed|ECONN/i.test(message) ? 'unreachable' : 'error';
}
