// POST /v1/responses, GET and DELETE /v1/responses/{id}, GET /v1/responses/{id}/input_items.
// A create is translated to chat completions (to-chat.ts) and served by the same stages as
// POST /v1/chat/completions from precedence 5 on; its answer is retold by the wire (wire.ts). On a
// deployment whose engine speaks the Responses API (`responses: native`) the attempt sends the
// engine a Responses body instead, and native-wire.ts retells its answer.
import { z } from 'zod';
import { GatewayError } from '../errors/gateway-error.js';
import { invalidParameter, validateBody } from '../openai/validate.js';
import { readJsonBody } from '../server/body.js';
import type { AnswerWire } from '../server/answer-wire.js';
import type { RequestContext } from '../server/context.js';
import { sendJson } from '../server/respond.js';
import type { Route } from '../server/router.js';
import type { GatewayDeps } from '../stages/deps.js';
import { serveInference } from '../stages/inference.js';
import { validateRequest } from '../stages/validate-request.js';
import type { ResponsesRepo, StoredResponse } from '../store/responses-repo.js';
import { responseExpiry } from '../store/responses-repo.js';
import { responsesRequest, type ResponsesRequest } from './request-schema.js';
import { nativeResponsesWire } from './native-wire.js';
import { newShell } from './response-object.js';
import { normalizeInput, referencedIds, toChatBody } from './to-chat.js';
import { responsesWire } from './wire.js';

type Json = Record<string, unknown>;

/** Earlier turns followed through previous_response_id at most (each is one store read). */
const MAX_CHAIN = 256;

/** A store failure is the contract's 503, never a 500 with a driver's message. */
async function fromStore<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (cause) {
    throw new GatewayError('dependency_unavailable', { message: 'The store is unavailable.', cause });
  }
}

/**
 * The items of every earlier turn, oldest first: each response's input items then its output.
 * An unknown id and another account's are the same 400 (the store cannot tell them apart either).
 */
async function conversation(repo: ResponsesRepo, accountId: string, previousId: string): Promise<Json[]> {
  const turns: StoredResponse[] = [];
  let next: string | null = previousId;
  while (next !== null && turns.length < MAX_CHAIN) {
    const id: string = next;
    const turn = await fromStore(() => repo.get(accountId, id));
    if (!turn) {
      if (turns.length === 0) throw invalidParameter({ param: 'previous_response_id', message: `No stored response '${previousId.slice(0, 256)}' exists for this account.` });
      break; // an older turn expired or was deleted: the conversation starts after it
    }
    turns.push(turn);
    next = turn.previousResponseId;
  }
  return turns.reverse().flatMap((t) => [...t.inputItems, ...t.outputItems]);
}

/**
 * The body an engine that speaks the Responses API is sent: the client's, with the whole
 * conversation as input (item references resolved) and store: false, since the gateway keeps
 * responses and follows previous_response_id itself (the engine may keep nothing, or forget).
 */
function nativeBody(req: ResponsesRequest, conversationInput: Json[], model: string): Json {
  const { previous_response_id: _previous, store: _store, stream: _stream, ...rest } = req;
  return { ...rest, model, input: conversationInput, store: false };
}

function notFound(id: string): GatewayError {
  return new GatewayError('response_not_found', { message: `No response '${id.slice(0, 256)}' exists for this account.` });
}

const listQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  order: z.enum(['asc', 'desc']).default('desc'),
  after: z.string().min(1).max(256).optional(),
  include: z.unknown().optional(),
});

function query(url: string | undefined): Json {
  const q = new URL(url ?? '/', 'http://x').searchParams;
  return Object.fromEntries(q.entries());
}

export function responsesRoutes(deps: GatewayDeps): Route[] {
  const limits = { maxBytes: deps.config.server.maxBodyBytes, timeoutMs: deps.config.server.bodyTimeoutMs };
  const serve = serveInference(deps);
  const repo = deps.store.responses;
  const retentionDays = deps.config.responses.retentionDays;

  async function create(ctx: RequestContext): Promise<void> {
    ctx.principal = await deps.auth.authenticate(ctx.req.headers.authorization); // 2: 401
    const raw = await readJsonBody(ctx.req, limits); // 3: 413, 408; 4: 400 invalid_json
    const req = validateBody(responsesRequest, raw.value); // 4: 400 invalid_parameter
    ctx.api = 'responses';
    const accountId = ctx.principal.account.id;
    const history = req.previous_response_id ? await conversation(repo, accountId, req.previous_response_id) : [];
    const ids = referencedIds(req.input);
    const referenced = ids.length > 0 ? await fromStore(() => repo.findItems(accountId, ids)) : new Map<string, Json>();
    const input = normalizeInput(req.input, referenced);
    const shell = newShell(req);
    const save = req.store === false ? undefined : async (response: Json, output: Json[]) => {
      const createdAt = shell.createdAt * 1000;
      try {
        await repo.save({
          id: shell.id,
          accountId,
          model: req.model,
          previousResponseId: req.previous_response_id ?? null,
          createdAt: new Date(createdAt).toISOString(),
          expiresAt: responseExpiry(createdAt, retentionDays),
          response,
          inputItems: input,
          outputItems: output,
        });
      } catch (err) {
        // The answer was produced and billed; it is delivered even if it could not be kept.
        deps.logger.error({ request_id: ctx.id, response_id: shell.id, err }, 'could not store a response');
      }
    };
    ctx.wire = responsesWire(shell, save);
    let native: AnswerWire | undefined;
    ctx.native = {
      body: (model) => nativeBody(req, [...history, ...input], model),
      wire: () => (native ??= nativeResponsesWire(shell, save)),
      translated: ctx.wire,
    };
    // The translated body is checked as any chat request is (a bad tool schema, say, is a 400 here).
    validateRequest(ctx, 'chat', { value: toChatBody(req, history, input) });
    await serve(ctx);
  }

  async function owned(ctx: RequestContext, id: string): Promise<StoredResponse> {
    ctx.principal = await deps.auth.authenticate(ctx.req.headers.authorization);
    const accountId = ctx.principal.account.id;
    const found = await fromStore(() => repo.get(accountId, id));
    if (!found) throw notFound(id);
    return found;
  }

  return [
    { method: 'POST', path: '/v1/responses', handler: create },
    {
      method: 'GET',
      path: '/v1/responses/:id',
      handler: async (ctx, p) => sendJson(ctx.res, (await owned(ctx, p.id!)).response, ctx.id),
    },
    {
      method: 'DELETE',
      path: '/v1/responses/:id',
      handler: async (ctx, p) => {
        ctx.principal = await deps.auth.authenticate(ctx.req.headers.authorization);
        const accountId = ctx.principal.account.id;
        if (!(await fromStore(() => repo.delete(accountId, p.id!)))) throw notFound(p.id!);
        sendJson(ctx.res, { id: p.id, object: 'response', deleted: true }, ctx.id);
      },
    },
    {
      method: 'GET',
      path: '/v1/responses/:id/input_items',
      handler: async (ctx, p) => {
        const q = validateBody(listQuery, query(ctx.req.url));
        const stored = await owned(ctx, p.id!);
        const all = q.order === 'asc' ? stored.inputItems : [...stored.inputItems].reverse();
        let from = 0;
        if (q.after !== undefined) {
          const at = all.findIndex((item) => item.id === q.after);
          if (at === -1) throw invalidParameter({ param: 'after', message: `No input item '${q.after}' in this response.` });
          from = at + 1;
        }
        const data = all.slice(from, from + q.limit);
        sendJson(ctx.res, {
          object: 'list',
          data,
          first_id: (data[0]?.id as string | undefined) ?? null,
          last_id: (data[data.length - 1]?.id as string | undefined) ?? null,
          has_more: from + q.limit < all.length,
        }, ctx.id);
      },
    },
  ];
}
