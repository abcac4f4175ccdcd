// Each model's state as a status page says it, from what the gateway already knows: the
// operator's maintenance switches, the deployments' active health checks and circuits
// (routing/), and the share of recent requests that failed on the server side (traffic-window.ts).
// A LoRA adapter model is judged by its base model's deployments, where it is served.
import type { RegisteredModel } from '../routing/registry.js';
import type { ModelCounts } from './traffic-window.js';

export type ModelState = 'operational' | 'degraded' | 'outage' | 'maintenance';

/** Below this many recent requests a few failures say little: the error ratio is not judged. */
export const MIN_RECENT_REQUESTS = 10;
/** The share of recent requests failing on the server side from which a model is degraded. */
export const DEGRADED_ERROR_RATIO = 0.05;
/** …and from which it is in outage, whatever its deployments look like. */
export const OUTAGE_ERROR_RATIO = 0.5;

export interface ModelStatus {
  state: ModelState;
  /** A short public reason: no deployment names, no counts of engines, nothing about accounts. */
  reason: string;
}

/**
 * `now`: the performance.now() clock of the adapters' remembered load failures. A LoRA adapter
 * model has no deployments of its own: it is served on its base's, so it is judged by those, and
 * is drained when its base is.
 */
export function modelStatus(m: RegisteredModel, recent: ModelCounts | undefined, now = performance.now()): ModelStatus {
  const base = m.adapter?.base;
  const deployments = base ? base.deployments : m.deployments;
  const serving = deployments.filter((d) => !d.maintenance);
  if (m.maintenance || base?.maintenance || (deployments.length > 0 && serving.length === 0)) return { state: 'maintenance', reason: 'Under maintenance' };
  // Up: passing its health checks with a closed circuit. Half-open is still finding out.
  const up = serving.filter((d) => d.activeHealthy && d.circuit.current === 'closed');
  if (up.length === 0) return { state: 'outage', reason: serving.length === 0 ? 'Not deployed' : 'Unavailable' };
  const ratio = recent && recent.requests >= MIN_RECENT_REQUESTS ? recent.serverErrors / recent.requests : 0;
  if (ratio >= OUTAGE_ERROR_RATIO) return { state: 'outage', reason: 'Most recent requests failed' };
  if (ratio >= DEGRADED_ERROR_RATIO) return { state: 'degraded', reason: 'Elevated error rate' };
  // Its load failed lately wherever it could go: its requests get 412 adapter_load_failed (a 4xx,
  // so not in the error ratio) until the failure is forgotten (failedLoadTtlMs), then it is tried again.
  const name = m.adapter?.load.name;
  if (name !== undefined && up.every((d) => d.adapters?.failedUntil(name, now) !== undefined)) return { state: 'degraded', reason: 'Adapter failed to load' };
  if (up.length < serving.length) return { state: 'degraded', reason: 'Reduced capacity' };
  return { state: 'operational', reason: 'Operational' };
}

/** Worst first, for the page's headline. */
export const STATE_ORDER: readonly ModelState[] = ['outage', 'degraded', 'maintenance', 'operational'];
