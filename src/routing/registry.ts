// The model registry: models from the config, one engine per deployment, and each deployment's
// run-time state (weight, maintenance, load, health) that the balancer (balancer.ts) reads.
import { admissionSchema, type DeploymentConfig, type ModelConfig } from '../config/schema.js';
import { SimEngine } from '../engines/sim/sim-engine.js';
import { OpenAIEngine } from '../engines/openai/openai-engine.js';
import { LlamaEngine, type LlamaEngineEvents } from '../engines/llama/llama-engine.js';
import type { Engine } from '../engines/types.js';
import { Circuit, type CircuitEvents } from './circuit.js';
import { HealthCheck, type HealthCheckEvents } from './health-check.js';
import { RetryBudget } from './retry-budget.js';
import { PrefixIndex } from './prefix-index.js';
import { createAdmission, type DeploymentAdmission } from '../admission/deployment-admission.js';
import type { AdmissionEvents } from '../admission/admission-queue.js';
import { EngineLoad, type EngineLoadEvents } from '../admission/engine-load.js';
import { DeploymentAdapters, type AdapterEvents } from './deployment-adapters.js';
import type { AdapterRoute } from './adapter-placement.js';

export interface Deployment {
  config: DeploymentConfig;
  /** The model it serves (deployment ids are unique within a model only). */
  modelId: string;
  engine: Engine;
  /** Run-time settings, from the config at start and changed by the admin API. */
  weight: number;
  maintenance: boolean;
  /** Attempts this replica has in flight on it: the balancer's load signal. */
  outstanding: number;
  /** Passive outlier detection from real requests' outcomes. */
  circuit: Circuit;
  /** Verdict of the active health checks (true without them). */
  activeHealthy: boolean;
  /** While the engine's own capacity advice (retry-after on a 429/503) runs: performance.now() clock. */
  busyUntil: number;
  /** Until when it is passed over after refusing a connection, while others can serve. */
  suspectUntil: number;
  /** Precedence 13, when the deployment configures `admission` (or `engineMetrics`). */
  admission?: DeploymentAdmission;
  /** The engine's own published load, when the deployment polls it (`engineMetrics`). */
  engineLoad?: EngineLoad;
  healthCheck?: HealthCheck;
  /** The LoRA adapters loaded on it, when adapter models name its model as their base. */
  adapters?: DeploymentAdapters;
}

export interface RegisteredModel {
  config: ModelConfig;
  deployments: Deployment[];
  /** Run-time: drained for maintenance (from the config at start, changed by the admin API). */
  maintenance: boolean;
  retryBudget: RetryBudget;
  /** Where this replica sent which prompt prefixes, when the model routes prefix-aware. */
  prefixIndex?: PrefixIndex;
  /**
   * A LoRA adapter model: served on its base model's deployments (placeAdapter), with no
   * deployments of its own (`deployments` is empty).
   */
  adapter?: AdapterRoute;
}

/** The model's routing policy: its own, or prefix-aware for chat models with several deployments. */
export function routingPolicy(config: ModelConfig): 'least-loaded' | 'prefix-aware' {
  return config.routing ?? (config.kind === 'chat' && config.deployments.length > 1 ? 'prefix-aware' : 'least-loaded');
}

export function createEngine(d: DeploymentConfig, env: NodeJS.ProcessEnv = process.env, llamaEvents?: LlamaEngineEvents): Engine {
  if (d.engine === 'llama') return new LlamaEngine(d, llamaEvents);
  return d.engine === 'sim' ? new SimEngine(d.sim) : new OpenAIEngine(d, env);
}

export type EngineFactory = (d: DeploymentConfig) => Engine;

export interface RegistryHooks {
  engineFor?: EngineFactory;
  admissionEvents?: (deploymentId: string) => AdmissionEvents;
  engineLoadEvents?: (deploymentId: string) => EngineLoadEvents;
  circuitEvents?: (modelId: string, deploymentId: string) => CircuitEvents;
  healthCheckEvents?: (modelId: string, deploymentId: string) => HealthCheckEvents;
  /** Adapter loads and unloads on a deployment of the base model `modelId`. */
  adapterEvents?: (modelId: string, deploymentId: string) => AdapterEvents;
  /** What a local (engine: llama) deployment reports, when engineFor does not build the engine. */
  llamaEvents?: (deploymentId: string) => LlamaEngineEvents;
}

/**
 * An engine polled for its load needs a queue to hold requests in while it is saturated, even
 * with no concurrency limit of its own: the default queue, and a limit that never binds.
 */
const GATE_ONLY_ADMISSION = admissionSchema.parse({ maxConcurrency: 100_000 });

function createDeployment(model: ModelConfig, d: DeploymentConfig, hooks: RegistryHooks): Deployment {
  const engine = hooks.engineFor ? hooks.engineFor(d) : createEngine(d, process.env, d.engine === 'llama' ? hooks.llamaEvents?.(d.id) : undefined);
  const metrics = d.engine === 'openai' ? d.engineMetrics : undefined;
  let engineLoad: EngineLoad | undefined;
  if (metrics && d.engine === 'openai') {
    const events = hooks.engineLoadEvents?.(d.id) ?? {};
    engineLoad = new EngineLoad(new URL(d.baseUrl).origin, metrics, {
      ...events,
      // The gate may have opened: let the waiters in without waiting for a release.
      polled: () => {
        admission?.queue.wake();
        events.polled?.();
      },
    });
  }
  const admissionConfig = d.admission ?? (engineLoad ? GATE_ONLY_ADMISSION : undefined);
  const admission = admissionConfig && createAdmission(admissionConfig, hooks.admissionEvents?.(d.id), engineLoad);
  engineLoad?.start();
  const deployment: Deployment = {
    config: d,
    modelId: model.id,
    engine,
    weight: d.weight,
    maintenance: d.maintenance,
    outstanding: 0,
    circuit: new Circuit(model.circuitBreaker, hooks.circuitEvents?.(model.id, d.id)),
    activeHealthy: true,
    busyUntil: 0,
    suspectUntil: 0,
    ...(admission && { admission }),
    ...(engineLoad && { engineLoad }),
  };
  if (d.engine === 'openai' && d.healthCheck) {
    deployment.healthCheck = new HealthCheck(new URL(d.baseUrl).origin, d.healthCheck, deployment, hooks.healthCheckEvents?.(model.id, d.id));
    deployment.healthCheck.start();
  }
  return deployment;
}

export class ModelRegistry {
  private readonly models = new Map<string, RegisteredModel>();

  constructor(models: ModelConfig[], hooks: RegistryHooks = {}) {
    for (const config of models) {
      if (config.adapter !== undefined) continue;
      const deployments = config.deployments.map((d) => createDeployment(config, d, hooks));
      this.models.set(config.id, {
        config,
        deployments,
        maintenance: config.maintenance,
        retryBudget: new RetryBudget(config.retries),
        ...(routingPolicy(config) === 'prefix-aware' && { prefixIndex: new PrefixIndex() }),
      });
    }
    // Adapters after their bases (the config's checks guarantee each base exists and is not an adapter).
    for (const config of models) {
      if (config.adapter === undefined) continue;
      const base = config.base === undefined ? undefined : this.models.get(config.base);
      if (!base || base.adapter) throw new Error(`adapter model ${config.id}: no base model "${config.base}" with deployments`);
      for (const d of base.deployments) d.adapters ??= new DeploymentAdapters(d.config, d.engine, hooks.adapterEvents?.(base.config.id, d.config.id));
      this.models.set(config.id, {
        config,
        deployments: [],
        maintenance: config.maintenance,
        retryBudget: new RetryBudget(config.retries),
        adapter: { base, load: { name: config.id, ...config.adapter } },
      });
    }
  }

  get(id: string): RegisteredModel | undefined {
    return this.models.get(id);
  }

  list(): RegisteredModel[] {
    return [...this.models.values()];
  }

  async close(): Promise<void> {
    await Promise.all(this.list().flatMap((m) => m.deployments.flatMap((d) => [d.engine.close(), d.engineLoad?.close(), d.healthCheck?.close()])));
  }
}
