// One attempt against an engine, under the model's timeouts, written to the client. Nothing is
// sent until the engine produced its first event, so every failure before that still gets a real
// status; after it, failures become an SSE error event followed by [DONE].
import type { ServerResponse } from 'node:http';
import type { EngineCall, JsonAnswer, StreamAnswer } from '../engines/types.js';
import { GatewayError, toGatewayError } from '../errors/gateway-error.js';
import { sseErrorEvent } from '../errors/render.js';
import type { Cancellation } from '../server/cancellation.js';
import type { RequestContext } from '../server/context.js';
import { ClientClosed, clientGone } from '../server/context.js';
import { DONE_EVENT, SSE_HEADERS, eventsText, writeEvents, writeText } from '../server/sse.js';
import { countPromptIfUnknown, usageChunk } from './failed-stream-usage.js';

/** A timer that aborts the attempt with a catalog error as the abort reason. */
function abortAfter(attempt: Cancellation, ms: number, make: () => GatewayError): NodeJS.Timeout {
  return setTimeout(() => attempt.abort(make()), Math.max(0, ms));
}

/** After an abort, the reason (a timeout's GatewayError or ClientClosed) explains the failure. */
function explain(attempt: Cancellation, err: unknown): unknown {
  const reason: unknown = attempt.reason;
  return attempt.aborted && (reason instanceof GatewayError || reason instanceof ClientClosed) ? reason : err;
}

/**
 * One attempt's timing: its own cancellation (a first-token timeout ends this attempt, and the
 * next may go elsewhere; the client leaving ends them all) and the request's deadline (totalMs
 * from the first attempt: retries never run past it).
 */
export interface AttemptTiming {
  cancel: Cancellation;
  /** performance.now() by which the whole request must be done. */
  deadline: number;
}

export async function executeJson(ctx: RequestContext, call: EngineCall, t: AttemptTiming): Promise<JsonAnswer> {
  const { firstTokenMs, totalMs } = ctx.model!.config.timeouts;
  const engine = ctx.deployment!.engine;
  const left = t.deadline - performance.now();
  const timer = abortAfter(t.cancel, left, () => new GatewayError('generation_timeout', { message: `The generation did not finish within ${totalMs} ms.` }));
  // A hung engine is found within firstTokenMs, not at the total timeout: where the engine says
  // when its first token came, the first-token timeout runs for non-streaming requests too.
  let firstTimer: NodeJS.Timeout | undefined;
  if (engine.reportsFirstToken) {
    // This attempt's first token: a retry's replaces a failed attempt's.
    if (ctx.firstTokenMs !== undefined) ctx.firstTokenMs = undefined;
    if (firstTokenMs < left) firstTimer = abortAfter(t.cancel, firstTokenMs, () => new GatewayError('first_token_timeout', { message: `The engine sent no token within ${firstTokenMs} ms.` }));
    // Also when the first token came, for the time-to-first-token histogram of non-streaming requests.
    call.onFirstToken = () => {
      clearTimeout(firstTimer);
      ctx.firstTokenMs ??= performance.now() - ctx.startedAt;
    };
  }
  try {
    return await (call.responses ? engine.responsesJson!(call) : engine.json(call));
  } catch (err) {
    throw explain(t.cancel, err);
  } finally {
    clearTimeout(timer);
    clearTimeout(firstTimer);
  }
}

function startStream(res: ServerResponse, requestId: string): void {
  res.writeHead(200, { ...SSE_HEADERS, 'x-request-id': requestId });
}

export async function executeStream(ctx: RequestContext, call: EngineCall, t: AttemptTiming, finish: (status: number, code: string | undefined) => Promise<void>): Promise<void> {
  const { firstTokenMs, idleMs, totalMs } = ctx.model!.config.timeouts;
  const { res } = ctx;
  const firstTimer = abortAfter(t.cancel, Math.min(firstTokenMs, t.deadline - performance.now()), () => new GatewayError('first_token_timeout', { message: `The engine sent no token within ${firstTokenMs} ms.` }));
  let answer: StreamAnswer | undefined;
  let iterator: AsyncIterator<string[]> | undefined;
  let first: IteratorResult<string[]>;
  try {
    const engine = ctx.deployment!.engine;
    answer = await (call.responses ? engine.responsesStream!(call) : engine.stream(call));
    iterator = answer.events[Symbol.asyncIterator]();
    first = await iterator.next();
  } catch (err) {
    await iterator?.return?.();
    throw explain(t.cancel, err);
  } finally {
    clearTimeout(firstTimer);
  }

  ctx.firstByteMs = performance.now() - ctx.startedAt;
  startStream(res, ctx.id);
  // Another API's framing (the Responses API), in place of chat's bytes.
  const wire = ctx.wire;
  const idleTimer = abortAfter(t.cancel, idleMs, () => new GatewayError('stream_timeout', { message: `The engine sent nothing for ${idleMs} ms.` }));
  const totalTimer = abortAfter(t.cancel, t.deadline - performance.now(), () => new GatewayError('stream_timeout', { message: `The stream did not finish within ${totalMs} ms.` }));
  let sent = 0;
  try {
    let r = first;
    // When the engine has already sent everything, the last events leave together with [DONE]
    // (after the ledger row is journaled, as always): one write instead of two.
    let last: string[] = [];
    while (!r.done) {
      if (answer.complete?.()) {
        last = r.value;
        break;
      }
      // A client gone while we waited for it: what is left is not delivered (nor billed).
      if (clientGone(ctx)) throw new ClientClosed();
      const draining = wire ? writeText(res, wire.events(r.value)) : writeEvents(res, r.value);
      if (draining) await draining;
      sent += r.value.length;
      r = await iterator.next();
      idleTimer.refresh();
    }
    ctx.usage = answer.usage();
    if (clientGone(ctx)) throw new ClientClosed();
    await finish(200, undefined);
    if (wire) res.end(wire.events(last) + (await wire.end()));
    else res.end(last.length > 0 ? eventsText(last) + DONE_EVENT : DONE_EVENT);
  } catch (err) {
    ctx.usage = answer.usage();
    ctx.streamedEvents = sent;
    const cause = explain(t.cancel, err);
    if (cause instanceof ClientClosed || clientGone(ctx)) throw cause;
    const gerr = toGatewayError(cause);
    ctx.midStreamError = gerr;
    // Output was delivered before the failure: it is billed (status 200 on the wire).
    if (sent > 0) await countPromptIfUnknown(ctx).catch(() => {});
    await finish(200, gerr.code);
    if (wire) {
      res.end(wire.fail(gerr, ctx.id));
      return;
    }
    const usage = sent > 0 && call.clientWantsUsage ? usageChunk(ctx, first.value[0] ?? '') : '';
    res.end((usage ? eventsText([usage]) : '') + sseErrorEvent(gerr, ctx.id));
  } finally {
    clearTimeout(idleTimer);
    clearTimeout(totalTimer);
  }
}
