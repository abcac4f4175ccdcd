// The model registry: models from the config, one engine per deployment, and the choice of a
// deployment for a request.
import { admissionSchema, type DeploymentConfig, type ModelConfig } from '../config/schema.js';
import { SimEngine } from '../engines/sim/sim-engine.js';
import { OpenAIEngine } from '../engines/openai/openai-engine.js';
import type { Engine } from '../engines/types.js';
import { GatewayError } from '../errors/gateway-error.js';
import { createAdmission, type DeploymentAdmission } from '../admission/deployment-admission.js';
import type { AdmissionEvents } from '../admission/admission-queue.js';
import { EngineLoad, type EngineLoadEvents } from '../admission/engine-load.js';

export interface Deployment {
  config: DeploymentConfig;
  engine: Engine;
  /** Precedence 13, when the deployment configures `admission` (or `engineMetrics`). */
  admission?: DeploymentAdmission;
  /** The engine's own published load, when the deployment polls it (`engineMetrics`). */
  engineLoad?: EngineLoad;
}

export interface RegisteredModel {
  config: ModelConfig;
  deployments: Deployment[];
  /** Round-robin cursor over the deployments in service. */
  next: number;
}

export function createEngine(d: DeploymentConfig, env: NodeJS.ProcessEnv = process.env): Engine {
  return d.engine === 'sim' ? new SimEngine(d.sim) : new OpenAIEngine(d, env);
}

export type EngineFactory = (d: DeploymentConfig) => Engine;

export interface RegistryHooks {
  engineFor?: EngineFactory;
  admissionEvents?: (deploymentId: string) => AdmissionEvents;
  engineLoadEvents?: (deploymentId: string) => EngineLoadEvents;
}

/**
 * An engine polled for its load needs a queue to hold requests in while it is saturated, even
 * with no concurrency limit of its own: the default queue, and a limit that never binds.
 */
const GATE_ONLY_ADMISSION = admissionSchema.parse({ maxConcurrency: 100_000 });

function createDeployment(d: DeploymentConfig, hooks: RegistryHooks): Deployment {
  const engine = (hooks.engineFor ?? createEngine)(d);
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
  return { config: d, engine, ...(admission && { admission }), ...(engineLoad && { engineLoad }) };
}

export class ModelRegistry {
  private readonly models = new Map<string, RegisteredModel>();

  constructor(models: ModelConfig[], hooks: RegistryHooks = {}) {
    for (const config of models) {
      const deployments = config.deployments.map((d) => createDeployment(d, hooks));
      this.models.set(config.id, { config, deployments, next: 0 });
    }
  }

  get(id: string): RegisteredModel | undefined {
    return this.models.get(id);
  }

  list(): RegisteredModel[] {
    return [...this.models.values()];
  }

  /** Precedence 12: not deployed is 404, drained for maintenance is 503. */
  pickDeployment(model: RegisteredModel): Deployment {
    if (model.config.maintenance) throw new GatewayError('maintenance', { message: `The model ${model.config.id} is down for maintenance.`, retryAfterMs: 30_000 });
    if (model.deployments.length === 0) throw new GatewayError('model_not_deployed', { message: `The model ${model.config.id} exists but is not deployed right now.` });
    const n = model.deployments.length;
    for (let i = 0; i < n; i++) {
      const d = model.deployments[(model.next + i) % n]!;
      if (!d.config.maintenance) {
        model.next = (model.next + i + 1) % n;
        return d;
      }
    }
    throw new GatewayError('maintenance', { message: `Every deployment of ${model.config.id} is down for maintenance.`, retryAfterMs: 30_000 });
  }

  async close(): Promise<void> {
    await Promise.all(this.list().flatMap((m) => m.deployments.flatMap((d) => [d.engine.close(), d.engineLoad?.close()])));
  }
}
