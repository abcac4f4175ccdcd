// Run-time model operations for the admin API: show the registry's state, and drain a model or a
// deployment for maintenance or change a deployment's weight. The balancer reads these fields at
// every choice (routing/balancer.ts), so a change steers new requests at once while requests
// already in flight finish where they are. The changes live in this replica's memory: another
// replica, or this one after a restart, follows its config.
import { GatewayError } from '../errors/gateway-error.js';
import type { Logger } from '../observability/logger.js';
import type { ModelRegistry, RegisteredModel } from '../routing/registry.js';
import type { PatchDeploymentInput, PatchModelInput } from './inputs.js';
import { deploymentView, modelView } from './model-views.js';

/** Who asked, for the log line of a change. */
export interface Actor {
  requestId: string;
  /** The client's address as the socket sees it. */
  remote: string | undefined;
}

export function createModelOperations(registry: ModelRegistry, logger: Logger) {
  function findModel(id: string): RegisteredModel {
    const m = registry.get(id);
    if (!m) throw new GatewayError('model_not_found', { message: `No model '${id.slice(0, 256)}'.` });
    return m;
  }

  function findDeployment(modelId: string, deploymentId: string) {
    const d = findModel(modelId).deployments.find((x) => x.config.id === deploymentId);
    // The catalog has no deployment_not_found yet: the closest 404 names what is missing.
    if (!d) throw new GatewayError('deployment_not_found', { message: `The model '${modelId}' has no deployment '${deploymentId.slice(0, 256)}'.` });
    return d;
  }

  /** One info line per change: an operator reading the log sees who moved traffic, and from what to what. */
  function logChange(actor: Actor, what: Record<string, unknown>, changes: Record<string, { from: unknown; to: unknown }>): void {
    logger.info({ by: 'admin', request_id: actor.requestId, remote: actor.remote, ...what, changes }, 'run-time model settings changed by the admin API');
  }

  return {
    listModels: () => registry.list().map((m) => modelView(m)),

    getModel: (id: string) => modelView(findModel(id)),

    updateModel(id: string, patch: PatchModelInput, actor: Actor) {
      const m = findModel(id);
      const from = m.maintenance;
      m.maintenance = patch.maintenance;
      logChange(actor, { model: id }, { maintenance: { from, to: m.maintenance } });
      return modelView(m);
    },

    updateDeployment(modelId: string, deploymentId: string, patch: PatchDeploymentInput, actor: Actor) {
      const d = findDeployment(modelId, deploymentId);
      const changes: Record<string, { from: unknown; to: unknown }> = {};
      if (patch.maintenance !== undefined) {
        changes.maintenance = { from: d.maintenance, to: patch.maintenance };
        d.maintenance = patch.maintenance;
      }
      if (patch.weight !== undefined) {
        changes.weight = { from: d.weight, to: patch.weight };
        d.weight = patch.weight;
      }
      logChange(actor, { model: modelId, deployment: deploymentId }, changes);
      return deploymentView(d);
    },
  };
}

export type ModelOperations = ReturnType<typeof createModelOperations>;
