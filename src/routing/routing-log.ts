// What the gateway says about routing: a log line for each circuit and health-check change of a
// deployment (an operator sees when and why traffic moved), and the matching metrics.
import type { Logger } from '../observability/logger.js';
import type { createMetrics } from '../observability/metrics.js';
import type { CircuitEvents } from './circuit.js';
import type { HealthCheckEvents } from './health-check.js';
import type { RouteEvents } from './route.js';

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
