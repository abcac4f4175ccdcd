// One deployment's admission: its queue, and the limit that queue keeps (fixed, or adaptive to the
// engine's measured latency). Built by the registry for deployments that configure `admission`.
import type { AdmissionConfig } from '../config/schema.js';
import { AdaptiveLimit } from './adaptive-limit.js';
import { AdmissionQueue, type Abortable, type AdmissionEvents, type Release } from './admission-queue.js';
import type { EngineLoad } from './engine-load.js';
import type { Priority } from '../store/keys-repo.js';

export interface DeploymentAdmission {
  queue: AdmissionQueue;
  /** The limit in force now (the metric). */
  limit(): number;
  /**
   * Admits a request; the returned `done` releases its slot and, for an adaptive limit, reports
   * how the engine fared: the latency that matters to users (to the first byte) and whether it
   * failed from overload.
   */
  admit(priority: Priority, cancel: Abortable): Admitted | Promise<Admitted>;
}

export type Admitted = (latencyMs: number | undefined, overloaded: boolean) => void;

/**
 * `engineLoad`: the engine's own published load, when the deployment polls it; admission holds
 * requests in this queue while the engine's queue is past its threshold.
 */
export function createAdmission(config: AdmissionConfig, events: AdmissionEvents = {}, engineLoad?: Pick<EngineLoad, 'saturated'>): DeploymentAdmission {
  const c = config.maxConcurrency;
  const adaptive = typeof c === 'number' ? undefined : new AdaptiveLimit({ min: c.adaptive.min, max: c.adaptive.max });
  const limit = adaptive ? () => adaptive.limit : () => c as number;
  const { critical, standard, batch } = config.queue;
  const queue = new AdmissionQueue({
    limit,
    maxQueue: config.maxQueue ?? critical.maxLength + standard.maxLength + batch.maxLength,
    classes: config.queue,
    reserveCritical: config.reserveCritical,
    ...(engineLoad && { open: () => !engineLoad.saturated() }),
  }, events);
  const admitted = (release: Release): Admitted => {
    if (!adaptive) return release;
    // The limit's clock (Date.now): a sample reported when a stream ends says when it started.
    const startedAt = Date.now();
    const inflight = queue.running;
    return (latencyMs, overloaded) => {
      release();
      adaptive.onSample(latencyMs ?? Date.now() - startedAt, inflight, overloaded, startedAt);
      // A limit that rose has room for waiters now, not at the next release.
      queue.wake();
    };
  };
  return {
    queue,
    limit,
    admit(priority, cancel) {
      const slot = queue.acquire(priority, cancel);
      return slot instanceof Promise ? slot.then(admitted) : admitted(slot);
    },
  };
}
