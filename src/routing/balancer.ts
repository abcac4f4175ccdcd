// The choice of a deployment for one attempt (precedence 12): among the model's deployments that
// are in service, healthy and not at capacity, the less loaded of two drawn at random in
// proportion to their weights ("the power of two choices", Mitzenmacher 2001; Envoy's and
// Finagle's least-request balancers). Two random draws, not the global minimum: replicas that see
// the same load numbers do not all pile onto the same deployment, and a deployment whose load is
// stale (a burst just sent to it) is not chosen by everyone at once.
//
// Load is this replica's outstanding attempts on the deployment plus, where the engine publishes
// it (engineMetrics), the engine's own queue, which counts every replica's traffic. Each is per
// unit of weight. A retry prefers a deployment this request has not tried yet.
//
// When nothing can be chosen the error says why, with the advice that fits:
//   - the model, or every deployment, drained for maintenance: 503 maintenance;
//   - every deployment in service has its circuit open (or fails its health checks):
//     503 no_healthy_deployment, retry-after at the nearest cooldown's end;
// A deployment whose engine answered at capacity with retry advice (429/503 with retry-after) is
// avoided while that advice runs, as long as another can be chosen; when all are, one is still
// chosen for a first attempt (the engine decides), and the retry loop does not retry into one.
// The client then gets the engine's engine_overloaded with the engine's own advice. A deployment
// that just refused a connection is passed over the same way for a moment (route.ts): a dead
// engine fails at once and would otherwise look the least loaded.
import { GatewayError } from '../errors/gateway-error.js';
import type { PromptPrefix } from './prefix-blocks.js';
import { choosePrefixAware } from './prefix-choice.js';
import type { Deployment, RegisteredModel } from './registry.js';

/** A saturated engine (its queue past maxWaiting) is chosen only when no other can be. */
const SATURATED_PENALTY = 1e6;
/** Advice when a circuit is half-open with its probe in flight: the probe decides within a moment. */
const PROBE_ADVICE_MS = 1_000;
/** Advice for a deployment taken out by its health checks: roughly when the next check may put it back. */
const UNHEALTHY_ADVICE_MS = 5_000;

/** Requests on a deployment: this replica's attempts in flight, plus the engine's own queue. */
export function inFlightOf(d: Deployment): number {
  return d.outstanding + (d.engineLoad?.latest()?.waiting ?? 0);
}

/** Whether the engine says its own queue is past maxWaiting (engineMetrics). */
export function saturated(d: Deployment): boolean {
  return d.engineLoad?.saturated() ?? false;
}

/** Load per unit of weight, with this request; a saturated engine only when nothing else is left. */
export function loadOf(d: Deployment): number {
  return (inFlightOf(d) + 1 + (saturated(d) ? SATURATED_PENALTY : 0)) / d.weight;
}

function weightedDraw(pool: Deployment[], total: number, random: () => number, skip?: Deployment): Deployment {
  let r = random() * total;
  let last: Deployment | undefined;
  for (const d of pool) {
    if (d === skip) continue;
    last = d;
    r -= d.weight;
    if (r < 0) return d;
  }
  return last!;
}

/**
 * The deployments an attempt may go to now: in service, healthy, circuit closed, and not busy or
 * suspect (those only when nothing else is left). Throws why none can be chosen, naming `id`.
 */
export function servable(all: readonly Deployment[], id: string, now: number): Deployment[] {
  if (all.length === 0) throw new GatewayError('model_not_deployed', { message: `The model ${id} exists but is not deployed right now.` });
  const ready: Deployment[] = [];
  const busy: Deployment[] = [];
  let inService = 0;
  let reopen = Infinity;
  for (const d of all) {
    if (d.maintenance) continue;
    inService++;
    if (!d.activeHealthy) {
      reopen = Math.min(reopen, now + UNHEALTHY_ADVICE_MS);
      continue;
    }
    if (!d.circuit.available()) {
      const at = d.circuit.reopensAt;
      reopen = Math.min(reopen, at > 0 ? at : now + PROBE_ADVICE_MS);
      continue;
    }
    (d.busyUntil > now || d.suspectUntil > now ? busy : ready).push(d);
  }
  if (inService === 0) throw new GatewayError('maintenance', { message: `Every deployment of ${id} is down for maintenance.`, retryAfterMs: 30_000 });
  if (ready.length === 0 && busy.length === 0) throw new GatewayError('no_healthy_deployment', { message: `No deployment of ${id} is healthy right now.`, retryAfterMs: Math.max(1, reopen - now) });
  return ready.length === 0 ? busy : ready;
}

/**
 * `prefix`: the request's prompt as block hashes (prefix-blocks.ts), when the model routes
 * prefix-aware; then its first attempt goes where that prefix is probably cached (prefix-choice.ts).
 */
export function chooseDeployment(model: RegisteredModel, tried: ReadonlySet<Deployment> | undefined, now = performance.now(), random: () => number = Math.random, prefix?: PromptPrefix): Deployment {
  const id = model.config.id;
  if (model.maintenance) throw new GatewayError('maintenance', { message: `The model ${id} is down for maintenance.`, retryAfterMs: 30_000 });
  const all = model.deployments;
  // The common case, one deployment in good shape: no arrays, no draws.
  if (all.length === 1) {
    const d = all[0]!;
    if (!d.maintenance && d.activeHealthy && d.circuit.available()) return d;
  }

  const ready = servable(all, id, now);

  let pool = ready;
  if (tried && tried.size > 0) {
    const fresh = ready.filter((d) => !tried.has(d));
    if (fresh.length > 0) pool = fresh;
  }
  if (pool.length === 1) return pool[0]!;
  if (prefix && model.prefixIndex) return choosePrefixAware(pool, prefix, model.prefixIndex);
  let total = 0;
  for (const d of pool) total += d.weight;
  const a = weightedDraw(pool, total, random);
  const b = weightedDraw(pool, total - a.weight, random, a);
  return loadOf(b) < loadOf(a) ? b : a;
}

/**
 * Whether a retry could go to `d`: not tried by this request yet, in service, healthy, circuit
 * closed, and not busy or suspect (shared with adapter-placement.ts, which adds the adapter's own
 * condition).
 */
export function untriedAndReady(d: Deployment, tried: ReadonlySet<Deployment>, now: number): boolean {
  return !tried.has(d) && !d.maintenance && d.activeHealthy && d.circuit.available() && d.busyUntil <= now && d.suspectUntil <= now;
}

/** Whether the model has a deployment this request has not tried that could be chosen now. */
export function hasUntried(model: RegisteredModel, tried: ReadonlySet<Deployment>, now = performance.now()): boolean {
  return !model.maintenance && model.deployments.some((d) => untriedAndReady(d, tried, now));
}
