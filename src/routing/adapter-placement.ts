// Where a request for a LoRA adapter model goes (precedence 11, before the attempt's admission):
// among its base model's deployments that can serve now (balancer.ts), one that holds the adapter
// or is loading it (affinity: the load is not repeated, and concurrent first requests share one
// load); otherwise the least loaded one whose load of it has not failed recently, where it is
// loaded. When a load fails there, the next deployment is tried; so an adapter that loaded on one
// deployment but failed on another is served by the first. When no deployment can load it the
// client gets 412 adapter_load_failed, naming the adapter, never its source.
import { GatewayError } from '../errors/gateway-error.js';
import type { Cancellation } from '../server/cancellation.js';
import { ClientClosed } from '../server/context.js';
import { moreInformative } from './attempt-outcome.js';
import { loadOf, servable, untriedAndReady } from './balancer.js';
import { adapterLoadFailed, type AdapterEntry, type AdapterLoad } from './deployment-adapters.js';
import type { Deployment, RegisteredModel } from './registry.js';

/** An adapter model's route: its base model (whose deployments serve it) and what to load. */
export interface AdapterRoute {
  base: RegisteredModel;
  load: AdapterLoad;
}

/**
 * Path characters (and control characters) in an adapter's name: engines such as vLLM keep
 * adapters by name, and some resolve names to files; such a name is never sent to an engine.
 */
const UNSAFE_NAME = /[/\\\u0000-\u001f\u007f]|\.\./;

function leastLoaded(pool: readonly Deployment[]): Deployment {
  let best = pool[0]!;
  let bestLoad = loadOf(best);
  for (let i = 1; i < pool.length; i++) {
    const load = loadOf(pool[i]!);
    if (load < bestLoad) {
      best = pool[i]!;
      bestLoad = load;
    }
  }
  return best;
}

/** In `pool`: a deployment that holds the adapter, else one that may load it, else undefined. */
function pick(pool: readonly Deployment[], name: string, now: number): Deployment | undefined {
  const holders = pool.filter((d) => d.adapters!.holds(name));
  if (holders.length > 0) return leastLoaded(holders);
  const loadable = pool.filter((d) => d.adapters!.failedUntil(name, now) === undefined);
  return loadable.length > 0 ? leastLoaded(loadable) : undefined;
}

/** Where an attempt for an adapter model goes, and the use of the adapter's load it took there. */
export interface AdapterPlacement {
  deployment: Deployment;
  entry: AdapterEntry;
}

/**
 * The deployment for this attempt, with the adapter loaded there and one use of it taken (give it
 * back with `deployment.adapters.release(entry)` when the attempt ends). A deployment this
 * request has already tried is chosen only when no other can serve the adapter.
 */
export async function placeAdapter(model: RegisteredModel, tried: ReadonlySet<Deployment>, cancel: Cancellation): Promise<AdapterPlacement> {
  const { base, load } = model.adapter!;
  const name = load.name;
  if (UNSAFE_NAME.test(name)) {
    throw new GatewayError('adapter_load_failed', { message: `The adapter '${name.slice(0, 256).replace(/[\u0000-\u001f\u007f]/g, '?')}' cannot be loaded: an adapter's name may not contain path characters.` });
  }
  if (model.maintenance || base.maintenance) throw new GatewayError('maintenance', { message: `The model ${name} is down for maintenance.`, retryAfterMs: 30_000 });
  /** Deployments where this request's load just failed. */
  const failedHere = new Set<Deployment>();
  let loadFailure: GatewayError | undefined;
  let unavailable: GatewayError | undefined;
  for (;;) {
    const now = performance.now();
    const usable = servable(base.deployments, name, now).filter((d) => !failedHere.has(d));
    const d = pick(usable.filter((x) => !tried.has(x)), name, now) ?? pick(usable, name, now);
    if (d === undefined) throw loadFailure ?? unavailable ?? adapterLoadFailed(name);
    try {
      return { deployment: d, entry: await d.adapters!.acquire(load, cancel) };
    } catch (err) {
      if (cancel.aborted || err instanceof ClientClosed || !(err instanceof GatewayError)) throw err;
      if (err.code === 'adapter_load_failed') loadFailure = err;
      else unavailable = moreInformative(unavailable, err);
      failedHere.add(d);
    }
  }
}

/** Whether a retry could go to a deployment this request has not tried (as hasUntried for other models). */
export function adapterHasUntried(model: RegisteredModel, tried: ReadonlySet<Deployment>, now = performance.now()): boolean {
  const { base, load } = model.adapter!;
  return !model.maintenance && !base.maintenance && base.deployments.some((d) => untriedAndReady(d, tried, now)
    && (d.adapters!.holds(load.name) || d.adapters!.failedUntil(load.name, now) === undefined));
}
