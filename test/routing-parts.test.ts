// The routing parts on a fake clock: the circuit breaker (consecutive failures, failure ratio,
// growing cooldowns, one half-open probe), the retry budget (a share of traffic plus a floor),
// the balancer (weights, least outstanding of two random choices, the engine's own queue, a retry
// preferring an untried deployment, and the error that says why nothing could be chosen), and
// which failures are retried.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { circuitBreakerSchema, modelSchema } from '../src/config/schema.js';
import { Circuit } from '../src/routing/circuit.js';
import { RetryBudget } from '../src/routing/retry-budget.js';
import { chooseDeployment } from '../src/routing/balancer.js';
import { moreInformative, retryVerdict, healthVerdict } from '../src/routing/attempt-outcome.js';
import type { Deployment, RegisteredModel } from '../src/routing/registry.js';
import { GatewayError } from '../src/errors/gateway-error.js';
import { mulberry32 } from '../src/sim/rng.js';

function clock() {
  let now = 1_000_000;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

test('a circuit opens on consecutive failures, lets one probe through after the cooldown, and doubles the cooldown on a failed probe', () => {
  const c = clock();
  const changes: string[] = [];
  const circuit = new Circuit(circuitBreakerSchema.parse({ consecutiveFailures: 3, cooldownMs: 1_000, maxCooldownMs: 3_000 }), { changed: (from, to) => changes.push(`${from}>${to}`) }, c.now);
  circuit.failure();
  circuit.failure();
  circuit.success(); // a success resets the run
  circuit.failure();
  circuit.failure();
  assert.equal(circuit.current, 'closed');
  circuit.failure();
  assert.equal(circuit.current, 'open');
  assert.equal(circuit.available(), false);
  assert.equal(circuit.reopensAt, c.now() + 1_000);
  c.advance(999);
  assert.equal(circuit.available(), false);
  c.advance(1);
  assert.equal(circuit.current, 'half-open');
  assert.equal(circuit.take(), true, 'the first request after the cooldown is the probe');
  assert.equal(circuit.available(), false, 'one probe at a time');
  assert.equal(circuit.take(), false);
  circuit.failure(true);
  assert.equal(circuit.current, 'open');
  assert.equal(circuit.reopensAt, c.now() + 2_000, 'a failed probe doubles the cooldown');
  c.advance(2_000);
  assert.equal(circuit.take(), true);
  circuit.failure(true);
  assert.equal(circuit.reopensAt, c.now() + 3_000, 'capped at maxCooldownMs');
  c.advance(3_000);
  assert.equal(circuit.take(), true);
  circuit.success(true);
  assert.equal(circuit.current, 'closed');
  // Closed again, the count starts over: a new opening has the base cooldown.
  for (let i = 0; i < 3; i++) circuit.failure();
  assert.equal(circuit.reopensAt, c.now() + 1_000);
  assert.deepEqual(changes.slice(0, 3), ['closed>open', 'open>half-open', 'half-open>open']);
});

test('a circuit opens on a failure ratio over its window, with enough requests in it, and forgets what left the window', () => {
  const c = clock();
  const circuit = new Circuit(circuitBreakerSchema.parse({ consecutiveFailures: 100, failureRatio: 0.5, minRequests: 10, windowMs: 1_000 }), {}, c.now);
  // 4 failures among 8: the ratio is met but not the minimum count.
  for (let i = 0; i < 4; i++) {
    circuit.success();
    circuit.failure();
  }
  assert.equal(circuit.current, 'closed');
  c.advance(1_500); // all of that leaves the window
  for (let i = 0; i < 6; i++) circuit.success();
  for (let i = 0; i < 4; i++) circuit.failure();
  assert.equal(circuit.current, 'closed', '4 of 10 in the window: under the ratio');
  circuit.failure();
  assert.equal(circuit.current, 'closed', '5 of 11: under 0.5');
  circuit.failure();
  assert.equal(circuit.current, 'open', '6 of 12: at the ratio');
});

test('an abandoned probe (the client left) lets the next request probe', () => {
  const c = clock();
  const circuit = new Circuit(circuitBreakerSchema.parse({ consecutiveFailures: 1, cooldownMs: 10 }), {}, c.now);
  circuit.failure();
  c.advance(10);
  assert.equal(circuit.take(), true);
  circuit.abandon(true);
  assert.equal(circuit.available(), true);
});

test('the retry budget allows a share of recent requests plus a floor, and recovers as the window moves', () => {
  const c = clock();
  const budget = new RetryBudget({ budgetRatio: 0.2, minPerSecond: 1, budgetWindowMs: 10_000 }, c.now);
  // A quiet model: the floor alone (1 a second over 10 s) allows 10.
  let allowed = 0;
  while (budget.tryRetry()) allowed++;
  assert.equal(allowed, 10);
  c.advance(10_000);
  for (let i = 0; i < 1_000; i++) budget.request();
  allowed = 0;
  while (budget.tryRetry()) allowed++;
  assert.equal(allowed, 210, '20% of 1,000 requests plus the floor of 10');
  c.advance(5_000);
  assert.equal(budget.tryRetry(), false, 'still spent half a window later');
  c.advance(5_000);
  assert.equal(budget.tryRetry(), true, 'the window moved past the spent retries');
});

function deployment(id: string, extra: Partial<Deployment> = {}): Deployment {
  return {
    config: { id } as Deployment['config'],
    modelId: 'm',
    engine: {} as Deployment['engine'],
    weight: 1,
    maintenance: false,
    outstanding: 0,
    circuit: new Circuit(circuitBreakerSchema.parse({ consecutiveFailures: 1, cooldownMs: 5_000 })),
    activeHealthy: true,
    busyUntil: 0,
    suspectUntil: 0,
    ...extra,
  };
}

function model(deployments: Deployment[], maintenance = false): RegisteredModel {
  return { config: modelSchema.parse({ id: 'm' }), deployments, maintenance, retryBudget: new RetryBudget({ budgetRatio: 0.2, minPerSecond: 1, budgetWindowMs: 10_000 }) };
}

/** Seeded: the draws are the same every run. */
const seeded = mulberry32;

test('under load, deployments carry traffic in proportion to their weights', () => {
  const a = deployment('a', { weight: 3 });
  const b = deployment('b', { weight: 1 });
  const m = model([a, b]);
  const random = seeded(7);
  // 40 requests in flight at all times, each ending at random: a steady load.
  const inFlight: Deployment[] = [];
  let forA = 0;
  const n = 20_000;
  for (let i = 0; i < n; i++) {
    const d = chooseDeployment(m, undefined, 0, random);
    if (d === a) forA++;
    d.outstanding++;
    inFlight.push(d);
    if (inFlight.length > 40) inFlight.splice(Math.floor(random() * inFlight.length), 1)[0]!.outstanding--;
  }
  assert.ok(Math.abs(forA / n - 0.75) < 0.03, `share of the weight-3 deployment: ${forA / n}`);
});

test('the less loaded of the two drawn is chosen, counting the engine\'s own queue, per unit of weight', () => {
  const a = deployment('a', { outstanding: 5 });
  const b = deployment('b', { outstanding: 1 });
  assert.equal(chooseDeployment(model([a, b]), undefined, 0, seeded(1)), b);
  // b's engine reports a long queue of other replicas' requests: a is now the lighter.
  const queued = deployment('b', { outstanding: 1, engineLoad: { latest: () => ({ running: 8, waiting: 10, kvCacheUsage: 0.5, at: 0 }), saturated: () => false } as unknown as Deployment['engineLoad'] });
  assert.equal(chooseDeployment(model([a, queued]), undefined, 0, seeded(1)), a);
  // Twice the weight carries twice the load.
  const heavy = deployment('heavy', { outstanding: 7, weight: 4 });
  assert.equal(chooseDeployment(model([a, heavy]), undefined, 0, seeded(1)), heavy);
});

test('a retry prefers a deployment the request has not tried; maintenance, open circuits and capacity advice are avoided', () => {
  const a = deployment('a');
  const b = deployment('b', { outstanding: 50 });
  assert.equal(chooseDeployment(model([a, b]), new Set([a]), 0, seeded(2)), b, 'untried, however loaded');
  const drained = deployment('drained', { maintenance: true });
  for (let i = 0; i < 50; i++) assert.equal(chooseDeployment(model([drained, b]), undefined, 0, seeded(i)), b);
  const broken = deployment('broken');
  broken.circuit.failure();
  for (let i = 0; i < 50; i++) assert.equal(chooseDeployment(model([broken, b]), undefined, performance.now(), seeded(i)), b);
  const busy = deployment('busy', { busyUntil: 10_000 });
  for (let i = 0; i < 50; i++) assert.equal(chooseDeployment(model([busy, b]), undefined, 5_000, seeded(i)), b);
  // One that just refused a connection is passed over the same way (a dead engine looks idle).
  const suspect = deployment('suspect', { suspectUntil: 10_000 });
  for (let i = 0; i < 50; i++) assert.equal(chooseDeployment(model([suspect, b]), undefined, 5_000, seeded(i)), b);
  // When all are busy, one is still chosen: the engine decides.
  assert.equal(chooseDeployment(model([busy]), undefined, 5_000, seeded(1)), busy);
});

test('when nothing can be chosen, the error says why: maintenance, or no healthy deployment with the nearest cooldown as advice', () => {
  const err = (fn: () => unknown) => {
    try {
      fn();
    } catch (e) {
      return e as GatewayError;
    }
    assert.fail('expected an error');
  };
  assert.equal(err(() => chooseDeployment(model([deployment('a')], true), undefined))!.code, 'maintenance');
  assert.equal(err(() => chooseDeployment(model([deployment('a', { maintenance: true }), deployment('b', { maintenance: true })]), undefined))!.code, 'maintenance');
  assert.equal(err(() => chooseDeployment(model([]), undefined))!.code, 'model_not_deployed');
  const a = deployment('a');
  const b = deployment('b');
  a.circuit.failure();
  b.circuit.failure();
  const e = err(() => chooseDeployment(model([a, b]), undefined))!;
  assert.equal(e.code, 'no_healthy_deployment');
  assert.ok(e.retryAfterMs! > 4_900 && e.retryAfterMs! <= 5_000, `advice ${e.retryAfterMs}`);
  const sick = deployment('sick', { activeHealthy: false });
  assert.equal(err(() => chooseDeployment(model([sick]), undefined))!.code, 'no_healthy_deployment');
});

test('which failures are retried, which count against health, and which final error is kept', () => {
  const e = (code: ConstructorParameters<typeof GatewayError>[0], retryAfterMs?: number) => new GatewayError(code, { retryAfterMs });
  for (const code of ['upstream_unreachable', 'upstream_invalid_response', 'engine_overloaded', 'first_token_timeout'] as const) assert.equal(retryVerdict(e(code)), 'any', code);
  assert.equal(retryVerdict(e('engine_error')), 'elsewhere');
  for (const code of ['invalid_parameter', 'generation_timeout', 'upstream_unknown_error', 'upstream_auth_failed', 'server_overloaded', 'queue_timeout'] as const) assert.equal(retryVerdict(e(code)), 'no', code);
  assert.equal(healthVerdict(undefined), 'success');
  assert.equal(healthVerdict(e('engine_error')), 'failure');
  assert.equal(healthVerdict(e('first_token_timeout')), 'failure');
  assert.equal(healthVerdict(e('engine_overloaded')), 'busy');
  assert.equal(healthVerdict(e('invalid_parameter')), 'success', 'the engine answered; the request was at fault');
  assert.equal(healthVerdict(e('server_overloaded')), 'neutral');
  // A capacity 503 or a first-token 504 is never hidden behind a vaguer error.
  const capacity = e('engine_overloaded', 2_000);
  assert.equal(moreInformative(capacity, e('no_healthy_deployment', 5_000)), capacity);
  assert.equal(moreInformative(e('upstream_unreachable'), capacity), capacity);
  const timeout = e('first_token_timeout');
  assert.equal(moreInformative(timeout, e('upstream_unreachable')), timeout);
});
