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
  const body = ctx.body!;
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
