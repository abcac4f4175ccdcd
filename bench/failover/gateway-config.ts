// The failover benchmark's gateway: the model under test on two `openai` deployments of equal weight
// (one simulator each) with active health checks, and every routing setting at its default (the
// choice of deployment, retries, retry budget, circuit breaker, timeouts), as an operator who only
// listed the engines would have it. A second model serves from the survivor alone: the capacity is measured through it.
import { modelSchema } from '../../src/config/schema.js';
import { routingPolicy } from '../../src/routing/registry.js';
import { BENCH_PRICING, benchGatewayBase, type ClassKeys } from '../overload/gateway-config.js';
import { CALIBRATION_MODEL, HEALTH_CHECK, KILLED, MODEL, SURVIVOR } from './workload.js';

export interface FailoverGatewayInput {
  /** The simulators' base URLs, http://127.0.0.1:PORT/v1 */
  engineUrls: Record<typeof SURVIVOR | typeof KILLED, string>;
  storePath: string;
  keys: ClassKeys;
}

function failoverModel(engineUrls: FailoverGatewayInput['engineUrls']): Record<string, unknown> {
  const deployment = (id: typeof SURVIVOR | typeof KILLED) => ({ id, engine: 'openai', baseUrl: engineUrls[id], weight: 1, healthCheck: { ...HEALTH_CHECK } });
  return { id: MODEL, pricing: BENCH_PRICING, deployments: [deployment(SURVIVOR), deployment(KILLED)] };
}

/** How the gateway will choose between the two deployments: the default for such a model, as it parses it. */
export function failoverRouting(engineUrls: FailoverGatewayInput['engineUrls']): string {
  return routingPolicy(modelSchema.parse(failoverModel(engineUrls)));
}

export function failoverGatewayConfig(o: FailoverGatewayInput): Record<string, unknown> {
  return {
    ...benchGatewayBase('failover', o.storePath, o.keys, [MODEL, CALIBRATION_MODEL]),
    models: [
      failoverModel(o.engineUrls),
      { id: CALIBRATION_MODEL, pricing: BENCH_PRICING, deployments: [{ id: SURVIVOR, engine: 'openai', baseUrl: o.engineUrls[SURVIVOR] }] },
    ],
  };
}
