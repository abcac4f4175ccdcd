// Precedence 4: the body against the OpenAI schema of its endpoint. A schema check costs about a
// microsecond per value in the body: a large body (many messages, parts or token ids) is checked
// on the offload worker, so that it never holds the event loop.
import type { Endpoint } from '../engines/types.js';
import { checkBody } from '../openai/check-body.js';
import { invalidParameter } from '../openai/validate.js';
import { offload } from '../offload/offload.js';
import type { JsonBody } from '../server/body.js';
import type { RequestContext } from '../server/context.js';

/** Bodies up to this size (characters of JSON) are checked on the event loop: a few ms at most. */
const CHECK_HERE_CHARS = 64 * 1024;

function accept(ctx: RequestContext, endpoint: Endpoint, body: Record<string, unknown>): void {
  ctx.endpoint = endpoint;
  ctx.body = body;
  ctx.stream = endpoint !== 'embeddings' && body.stream === true;
}

/** Undefined when the body was checked on the event loop; a promise when it went to the worker. */
export function validateRequest(ctx: RequestContext, endpoint: Endpoint, raw: JsonBody): Promise<void> | undefined {
  if (raw.text.length <= CHECK_HERE_CHARS) {
    const problem = checkBody(endpoint, raw.value);
    if (problem) throw invalidParameter(problem);
    accept(ctx, endpoint, raw.value);
    return undefined;
  }
  return offload.check(endpoint, raw.text).then((problem) => {
    if (problem) throw invalidParameter(problem);
    accept(ctx, endpoint, raw.value);
  });
}
