// Precedence 4: the body against the OpenAI schema of its endpoint.
import { GatewayError } from '../errors/gateway-error.js';
import type { Endpoint } from '../engines/types.js';
import { chatCompletionRequest, completionRequest, embeddingRequest } from '../openai/schemas.js';
import { validateBody } from '../openai/validate.js';
import type { RequestContext } from '../server/context.js';

const schemas = { chat: chatCompletionRequest, completions: completionRequest, embeddings: embeddingRequest } as const;

export function validateRequest(ctx: RequestContext, endpoint: Endpoint, raw: Record<string, unknown>): void {
  const body = validateBody(schemas[endpoint], raw) as Record<string, unknown>;
  if (endpoint !== 'embeddings') {
    if (body.stream_options != null && body.stream !== true) {
      throw new GatewayError('invalid_parameter', { param: 'stream_options', message: "Invalid 'stream_options': only allowed when 'stream' is true." });
    }
  }
  ctx.endpoint = endpoint;
  ctx.body = body;
  ctx.stream = endpoint !== 'embeddings' && body.stream === true;
}
