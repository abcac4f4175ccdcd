// Precedence 4: the body against the OpenAI schema of its endpoint. A large body was already
// checked on the offload worker when it was read (server/body.ts): a schema check costs about a
// microsecond per value, and a large body can hold hundreds of thousands.
import type { Endpoint } from '../engines/types.js';
import { checkBody } from '../openai/check-body.js';
import { invalidParameter } from '../openai/validate.js';
import type { JsonBody } from '../server/body.js';
import type { RequestContext } from '../server/context.js';
import { requestedPriority } from './admit.js';

export function validateRequest(ctx: RequestContext, endpoint: Endpoint, raw: JsonBody): void {
  const body = raw.value;
  if (!raw.checked) {
    const problem = checkBody(endpoint, body);
    if (problem) throw invalidParameter(problem);
  }
  ctx.requestedPriority = requestedPriority(ctx);
  ctx.endpoint = endpoint;
  ctx.body = body;
  if (raw.prefix) ctx.prefixBlocks = raw.prefix;
  ctx.stream = endpoint !== 'embeddings' && body.stream === true;
}
