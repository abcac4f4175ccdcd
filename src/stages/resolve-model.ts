// Precedence 6: the model must exist and be visible to the caller's account.
import { GatewayError } from '../errors/gateway-error.js';
import { isVisible, notFound } from './access.js';
import type { ModelRegistry } from '../routing/registry.js';
import type { RequestContext } from '../server/context.js';

export function resolveModel(ctx: RequestContext, registry: ModelRegistry): void {
  const id = String(ctx.body!.model);
  const model = registry.get(id);
  if (!model || !isVisible(model.config, ctx.principal!)) throw notFound(id);
  const wantsEmbedding = ctx.endpoint === 'embeddings';
  if (wantsEmbedding !== (model.config.kind === 'embedding')) {
    const path = wantsEmbedding ? '/v1/embeddings' : ctx.endpoint === 'chat' ? '/v1/chat/completions' : '/v1/completions';
    throw new GatewayError('invalid_parameter', { param: 'model', message: `The model '${id}' is ${model.config.kind === 'embedding' ? 'an embedding' : 'a chat'} model and does not support ${path}.` });
  }
  ctx.model = model;
}
