// Precedence 6: the model must exist (and, later, be visible to the caller's account).
import { GatewayError } from '../errors/gateway-error.js';
import type { ModelRegistry } from '../routing/registry.js';
import type { RequestContext } from '../server/context.js';

export function resolveModel(ctx: RequestContext, registry: ModelRegistry): void {
  const id = String(ctx.body!.model);
  const model = registry.get(id);
  if (!model) throw new GatewayError('model_not_found', { param: 'model', message: `The model '${id.slice(0, 256)}' does not exist or you do not have access to it.` });
  const wantsEmbedding = ctx.endpoint === 'embeddings';
  if (wantsEmbedding !== (model.config.kind === 'embedding')) {
    const path = wantsEmbedding ? '/v1/embeddings' : ctx.endpoint === 'chat' ? '/v1/chat/completions' : '/v1/completions';
    throw new GatewayError('invalid_parameter', { param: 'model', message: `The model '${id}' is ${model.config.kind === 'embedding' ? 'an embedding' : 'a chat'} model and does not support ${path}.` });
  }
  ctx.model = model;
}
