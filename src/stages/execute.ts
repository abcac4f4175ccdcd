// Precedence 14: one attempt of the engine call itself, streamed or not.
import type { EngineCall } from '../engines/types.js';
import { executeJson, executeStream, type AttemptTiming } from '../routing/execute.js';
import { parseFault, FAULT_HEADER } from '../sim/faults.js';
import { ClientClosed, clientGone, type RequestContext } from '../server/context.js';
import { sendJsonText } from '../server/respond.js';

/** Settles billing; awaited before the response's last byte, so a delivered answer is on the ledger. */
export type Finish = (status: number, errorCode: string | undefined) => Promise<void>;

export async function execute(ctx: RequestContext, finish: Finish, timing: AttemptTiming): Promise<void> {
  const deployment = ctx.deployment!;
  let body = ctx.body!;
  // A Responses API request on a deployment that serves it natively: its own body and wire for
  // this attempt (a retry or fallback elsewhere may translate to chat again).
  const native = ctx.native !== undefined && deployment.config.engine === 'openai' && deployment.config.responses === 'native';
  if (ctx.native) {
    ctx.wire = native ? ctx.native.wire() : ctx.native.translated;
    if (native) body = ctx.native.body(String(body.model));
  }
  const call: EngineCall = {
    endpoint: ctx.endpoint!,
    body,
    model: ctx.model!.config,
    deployment: deployment.config,
    requestId: ctx.id,
    cancel: timing.cancel,
    fault: deployment.config.faultHeader ? parseFault(ctx.req.headers[FAULT_HEADER]) : undefined,
    clientWantsUsage: (body.stream_options as { include_usage?: boolean } | null | undefined)?.include_usage === true,
  };
  if (native) call.responses = true;
  if (ctx.stream) {
    await executeStream(ctx, call, timing, finish);
    return;
  }
  const answer = await executeJson(ctx, call, timing);
  // Gone while the engine answered: nothing is delivered, nothing is billed.
  if (clientGone(ctx)) throw new ClientClosed();
  ctx.usage = answer.usage;
  await finish(200, undefined);
  sendJsonText(ctx.res, ctx.wire ? await ctx.wire.json(answer.text) : answer.text, ctx.id);
}
