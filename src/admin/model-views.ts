// What the admin API and CLI show of models and their deployments: the run-time state the balancer
// acts on (weight, maintenance, health, circuit, load), read at the moment of the request. Nothing
// from the engine's configuration that could carry a secret: no API key variable, no base URL
// (its user-info or query may hold credentials); an OpenAI-compatible engine shows its origin only.
import { PRIORITIES } from '../admission/admission-queue.js';
import type { Deployment, RegisteredModel } from '../routing/registry.js';
import type { Priority } from '../store/keys-repo.js';

/** Whole milliseconds until a performance.now() deadline, or undefined once it has passed. */
function msUntil(deadline: number, now: number): number | undefined {
  return deadline > now ? Math.ceil(deadline - now) : undefined;
}

export function deploymentView(d: Deployment, now = performance.now()) {
  const state = d.circuit.current;
  const reopensInMs = state === 'open' ? msUntil(d.circuit.reopensAt, now) : undefined;
  const busyForMs = msUntil(d.busyUntil, now);
  const admission = d.admission;
  const load = d.engineLoad?.latest();
  return {
    id: d.config.id,
    engine: d.config.engine,
    ...(d.config.engine === 'openai' && { origin: new URL(d.config.baseUrl).origin }),
    weight: d.weight,
    maintenance: d.maintenance,
    health: d.activeHealthy ? 'healthy' : 'unhealthy',
    circuit: { state, ...(reopensInMs !== undefined && { reopensInMs }) },
    inFlight: d.outstanding,
    ...(busyForMs !== undefined && { busyForMs }),
    ...(admission && {
      admission: {
        limit: admission.limit(),
        inService: admission.queue.running,
        queued: Object.fromEntries(PRIORITIES.map((p) => [p, admission.queue.queued(p)])) as Record<Priority, number>,
      },
    }),
    // Polled but no fresh reading (engine unreachable, metrics stale): null, as admission then ignores it.
    ...(d.engineLoad && { engineLoad: load ? { running: load.running, waiting: load.waiting, kvCacheUsage: load.kvCacheUsage ?? null } : null }),
    // Adapters this replica loaded here (least recently used first); failed loads still remembered.
    ...(d.adapters && { adapters: { max: d.adapters.max, ...d.adapters.state(now) } }),
  };
}

/**
 * An adapter model's load state on each of its base's deployments: loaded, loading, failed (with
 * how long the failure is still remembered), or absent. Never its source (a path on the engine).
 */
function adapterView(m: RegisteredModel, now: number) {
  const { base, load } = m.adapter!;
  const on = base.deployments.map((d) => {
    const s = d.adapters!.state(now);
    const failed = s.failed.find((f) => f.name === load.name);
    const state = s.loaded.includes(load.name) ? 'loaded' : s.loading.includes(load.name) ? 'loading' : failed ? 'failed' : 'absent';
    return { deployment: d.config.id, state, ...(failed && { retryInMs: failed.retryInMs }) };
  });
  return { base: base.config.id, deployments: on };
}

export function modelView(m: RegisteredModel, now = performance.now()) {
  return {
    id: m.config.id,
    kind: m.config.kind,
    ...(m.config.owner !== undefined && { owner: m.config.owner }),
    maintenance: m.maintenance,
    ...(m.adapter && { adapter: adapterView(m, now) }),
    deployments: m.deployments.map((d) => deploymentView(d, now)),
  };
}

export type DeploymentView = ReturnType<typeof deploymentView>;
export type ModelView = ReturnType<typeof modelView>;
