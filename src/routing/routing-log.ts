// What the gateway says about routing: a log line for each circuit and health-check change of a
// deployment (an operator sees when and why traffic moved), the matching metrics, and what a local
// engine reports that no request sees.
import type { Logger } from '../observability/logger.js';
import type { createMetrics } from '../observability/metrics.js';
import type { CircuitEvents } from './circuit.js';
import type { HealthCheckEvents } from './health-check.js';
import type { RouteEvents } from './route.js';
import type { AdapterEvents } from './deployment-adapters.js';
import type { LlamaEngineEvents } from '../engines/llama/llama-engine.js';

type Metrics = ReturnType<typeof createMetrics>;

export function circuitLog(model: string, deployment: string, logger: Logger, metrics: Metrics): CircuitEvents {
  return {
    changed(from, to, why) {
      metrics.circuitTransitions.inc({ model, deployment, state: to });
      const line = { model, deployment, from, to, why };
      if (to === 'open') logger.warn(line, 'circuit opened: the deployment gets no traffic until its cooldown ends');
      else logger.info(line, `circuit ${to}`);
    },
  };
}

export function healthCheckLog(model: string, deployment: string, logger: Logger): HealthCheckEvents {
  return {
    changed(healthy, why) {
      if (healthy) logger.info({ model, deployment, why }, 'deployment passes its health checks again: back in the balancer');
      else logger.warn({ model, deployment, why }, 'deployment fails its health checks: taken out of the balancer');
    },
  };
}

export function routeMetrics(metrics: Metrics): RouteEvents {
  return {
    retried: (model, code) => metrics.retries.inc({ model, code }),
    budgetExhausted: (model) => metrics.retryBudgetExhausted.inc({ model }),
  };
}

/**
 * Adapter loads and unloads on a deployment of base model `model`. A failed load's detail (the
 * engine's own words, which may name the adapter's path) is logged here and never sent to clients.
 */
export function adapterLog(model: string, deployment: string, logger: Logger, metrics: Metrics): AdapterEvents {
  return {
    loaded(adapter, ms) {
      metrics.adapterLoads.inc({ model, deployment, result: 'loaded' });
      logger.info({ model, deployment, adapter, ms: Math.round(ms) }, 'adapter loaded');
    },
    failed(adapter, detail) {
      metrics.adapterLoads.inc({ model, deployment, result: 'failed' });
      logger.warn({ model, deployment, adapter, detail }, 'adapter failed to load: its requests get 412 adapter_load_failed for a while');
    },
    unloaded(adapter, err) {
      metrics.adapterUnloads.inc({ model, deployment });
      if (err === undefined) logger.info({ model, deployment, adapter }, 'adapter unloaded (least recently used, past maxAdapters)');
      else logger.warn({ model, deployment, adapter, err: String(err) }, 'adapter unload failed; counted as unloaded');
    },
  };
}

/** A local (engine: llama) deployment's failures that no request sees. */
export function llamaEngineLog(deployment: string, logger: Logger): LlamaEngineEvents {
  return {
    adapterDisposeFailed(adapter, err) {
      logger.warn({ deployment, adapter, err: String(err) }, 'unloaded adapter\'s llama context failed to dispose after its last generation; its memory may stay held until the engine closes');
    },
  };
}
