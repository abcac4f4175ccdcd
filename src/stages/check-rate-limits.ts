// Precedence 10: requests and tokens per minute, of the key, its account, and the model's per-key
// default; every limit that applies must allow the request, so the tightest decides. Tokens are
// reserved before the engine runs (prompt plus max_tokens, or the rest of the context) and settled
// to what was served when the request ends, however it ends. A refused request spends nothing.
import type { RateLimits } from '../config/schema.js';
import { GatewayError } from '../errors/gateway-error.js';
import type { LimitCheck } from '../limits/gcra.js';
import { rateLimitHeaders, goDuration } from '../limits/headers.js';
import type { RateLimiter, TakenLimits } from '../limits/limiter.js';
import type { Metrics } from '../observability/metrics.js';
import type { RequestContext } from '../server/context.js';
import { countPrompts, promptsBound, promptsOf, sum } from '../tokenize/prompt.js';
import { maxCompletionTokens, servedTokens } from '../tokenize/request-tokens.js';

/** What an admitted request holds of its token limits until it settles. */
export interface LimitSpend {
  tokenChecks: LimitCheck[];
  reserved: number;
  local: boolean;
}

/** The prompt's tokens: exact once counted, else the byte bound (never less). */
function promptEstimate(ctx: RequestContext): number {
  return ctx.promptTokens ?? promptsBound((ctx.prompts ??= promptsOf(ctx.body!, ctx.endpoint!)));
}

const SCOPE_WORDS = { key: 'this API key', account: 'this account', model: 'this model for this API key' } as const;

function push(checks: LimitCheck[], limits: RateLimits | null | undefined, scope: LimitCheck['scope'], counter: string, tokens: number): void {
  if (!limits) return;
  if (limits.rpm !== undefined) checks.push({ key: `${counter}:r`, kind: 'requests', scope, perMinute: limits.rpm, cost: 1 });
  if (limits.tpm !== undefined) checks.push({ key: `${counter}:t`, kind: 'tokens', scope, perMinute: limits.tpm, cost: tokens });
}

function needsTokens(...all: Array<RateLimits | null | undefined>): boolean {
  return all.some((l) => l?.tpm !== undefined);
}

/** Undefined when the request is under no limit, or the limiter decided without a promise. */
export function checkRateLimits(ctx: RequestContext, limiter: RateLimiter, metrics: Metrics): Promise<void> | undefined {
  const { key, account } = ctx.principal!;
  const model = ctx.model!.config;
  if (!key.limits && !account.limits && !model.limits) return undefined;
  const checks = checksFor(ctx);
  const taken = limiter.take(checks);
  if (taken instanceof Promise) return taken.then((t) => decide(ctx, limiter, metrics, checks, t));
  return decide(ctx, limiter, metrics, checks, taken);
}

/**
 * Until the prompt is counted, its byte bound stands in for its tokens (it is never less), so most
 * requests need no tokenizer here, as in billing; the surplus comes back when the request settles.
 * A refusal on the bound is not final: the prompt is counted and the limits asked again.
 */
function decide(ctx: RequestContext, limiter: RateLimiter, metrics: Metrics, checks: LimitCheck[], taken: TakenLimits): Promise<void> | undefined {
  const onBound = ctx.promptTokens === undefined && taken.verdicts.some((v, i) => !v.allowed && checks[i]!.kind === 'tokens');
  if (!onBound) {
    apply(ctx, checks, taken, metrics);
    return undefined;
  }
  // The context check proved every prompt fits the context: counting to it counts them in full.
  return countPrompts(ctx.prompts!, ctx.model!.config.contextLength).then(async (counts) => {
    ctx.promptTokens = sum(counts);
    const exact = checksFor(ctx);
    apply(ctx, exact, await limiter.take(exact), metrics);
  });
}

function checksFor(ctx: RequestContext): LimitCheck[] {
  const { key, account } = ctx.principal!;
  const model = ctx.model!.config;
  let tokens = 0;
  if (needsTokens(key.limits, account.limits, model.limits)) {
    const prompt = promptEstimate(ctx);
    tokens = prompt + maxCompletionTokens(ctx, prompt);
  }
  // The account id in braces (a Redis hash tag): one request's counters share a slot, which one script call needs on a cluster.
  const owner = `{${account.id}}`;
  const checks: LimitCheck[] = [];
  push(checks, key.limits, 'key', `${owner}:k:${key.id}`, tokens);
  push(checks, account.limits, 'account', `${owner}:a`, tokens);
  push(checks, model.limits, 'model', `${owner}:m:${key.id}:${model.id}`, tokens);
  return checks;
}

function apply(ctx: RequestContext, checks: LimitCheck[], taken: TakenLimits, metrics: Metrics): void {
  // On the response whatever follows: the answer, the stream, or an error (writeHead keeps them).
  for (const [name, value] of rateLimitHeaders(checks, taken.verdicts)) ctx.res.setHeader(name, value);
  if (taken.allowed) {
    const tokenChecks = checks.filter((c) => c.kind === 'tokens');
    if (tokenChecks.length > 0) ctx.limitSpend = { tokenChecks, reserved: tokenChecks[0]!.cost, local: taken.local };
    return;
  }
  const err = refusal(ctx, checks, taken);
  metrics.rateLimited.inc({ code: err.code, scope: err.scope });
  throw err.error;
}

function refusal(ctx: RequestContext, checks: LimitCheck[], taken: TakenLimits): { code: string; scope: string; error: GatewayError } {
  const never = taken.verdicts.findIndex((v) => v.neverFits);
  if (never >= 0) {
    const c = checks[never]!;
    const askedMax = ctx.body!.max_completion_tokens !== undefined ? 'max_completion_tokens' : ctx.body!.max_tokens !== undefined ? 'max_tokens' : null;
    const error = new GatewayError('request_too_large_for_limit', {
      param: askedMax,
      message: `This request needs up to ${c.cost} tokens (prompt plus ${askedMax ?? 'the rest of the context, as max_tokens is not set'}), more than the limit of ${c.perMinute} tokens per minute on ${SCOPE_WORDS[c.scope]} allows. Lower ${askedMax ?? 'max_tokens'} or shorten the prompt.`,
    });
    return { code: error.code, scope: c.scope, error };
  }
  // Every refusing limit must pass, so the wait is the longest of theirs.
  let worst = -1;
  taken.verdicts.forEach((v, i) => {
    if (!v.allowed && (worst < 0 || v.retryAfterMs > taken.verdicts[worst]!.retryAfterMs)) worst = i;
  });
  const c = checks[worst]!;
  const wait = taken.verdicts[worst]!.retryAfterMs;
  const code = c.kind === 'requests' ? 'rate_limit_requests' : 'rate_limit_tokens';
  const what = c.kind === 'requests' ? 'requests' : `tokens (this request needs up to ${c.cost})`;
  const error = new GatewayError(code, {
    retryAfterMs: wait,
    message: `Rate limit reached for ${what} per minute on ${SCOPE_WORDS[c.scope]}: limit ${c.perMinute}. Try again in ${goDuration(wait)}.`,
  });
  return { code, scope: c.scope, error };
}

/** Settles the token reservation to what was served; runs once per admitted request. */
export function settleRateLimits(ctx: RequestContext, limiter: RateLimiter, status: number): void {
  const spend = ctx.limitSpend;
  if (!spend) return;
  ctx.limitSpend = undefined;
  const served = servedTokens(ctx, status);
  // Output was delivered but the engine never said how big the prompt was (a cut stream): the
  // prompt's estimate stands, so that dropping a stream never refunds a prompt the engine read.
  const input = ctx.usage?.prompt_tokens ?? ctx.promptTokens ?? promptEstimate(ctx);
  const used = served ? input + served.output : 0;
  limiter.correct(spend.tokenChecks, used - spend.reserved, spend.local);
}
