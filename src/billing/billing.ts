// Precedence 8 and the final step: reserve the likely cost when a request is admitted, settle it
// to the real usage (with its ledger row) before the response's last byte leaves. A request that
// fails before any output costs nothing.
import { GatewayError } from '../errors/gateway-error.js';
import type { Logger } from '../observability/logger.js';
import type { RequestContext } from '../server/context.js';
import { BillingRepo, type Reservation, type ReserveOutcome, type Settlement } from '../store/billing-repo.js';
import { nanosToUsd } from '../store/money.js';
import { monthOf, monthResetsAt } from '../store/period.js';
import type { Store } from '../store/store.js';
import { promptTokenBound, promptTokenCount } from '../tokenize/prompt.js';
import { costNanos } from './pricing.js';
import { GroupCommit } from './group-commit.js';

function usd(nanos: number): string {
  return `$${nanosToUsd(nanos).toFixed(4).replace(/0+$/, '').replace(/\.$/, '')}`;
}

export class Billing {
  private readonly reserveQueue: GroupCommit<Reservation, ReserveOutcome>;
  private readonly settleQueue: GroupCommit<Settlement, undefined>;

  constructor(store: Store, private readonly logger: Logger) {
    this.reserveQueue = new GroupCommit((batch) => store.billing.reserve(batch));
    this.settleQueue = new GroupCommit(async (batch) => {
      await store.billing.settle(batch);
      return batch.map(() => undefined);
    });
  }

  /**
   * Most this request can cost: the prompt plus max_tokens (or the rest of the context), per
   * choice. `exact` counts the prompt with the tokenizer; otherwise a byte bound stands in, which
   * only ever overestimates (the surplus is released at settlement).
   */
  private estimateNanos(ctx: RequestContext, exact: boolean): number {
    const model = ctx.model!.config;
    const body = ctx.body!;
    const endpoint = ctx.endpoint!;
    const prompt = ctx.promptTokens ?? (exact ? (ctx.promptTokens = promptTokenCount(body, endpoint)) : promptTokenBound(body, endpoint));
    if (endpoint === 'embeddings') return costNanos(model.pricing, prompt, 0);
    const maxOut = (body.max_completion_tokens ?? body.max_tokens ?? Math.max(0, model.contextLength - prompt)) as number;
    const n = typeof body.n === 'number' ? body.n : 1;
    return costNanos(model.pricing, prompt, maxOut * n);
  }

  private async tryReserve(r: Reservation): Promise<ReserveOutcome> {
    try {
      return await this.reserveQueue.submit(r);
    } catch (cause) {
      throw new GatewayError('dependency_unavailable', { message: 'The billing store is unavailable.', cause });
    }
  }

  async admit(ctx: RequestContext, now = new Date()): Promise<void> {
    const { account, key } = ctx.principal!;
    const r: Reservation = {
      accountId: account.id,
      keyId: key.id,
      period: monthOf(now),
      amountNanos: 0,
      prepaid: account.creditsNanos !== null,
      accountCapNanos: account.monthlyCapNanos,
      keyCapNanos: key.spendCapNanos,
    };
    if (BillingRepo.needsReservation(r)) {
      r.amountNanos = this.estimateNanos(ctx, false);
      let outcome = await this.tryReserve(r);
      if (outcome !== 'ok' && ctx.promptTokens === undefined) {
        // Near a limit the byte bound may refuse what the real count allows: count and try again.
        r.amountNanos = this.estimateNanos(ctx, true);
        outcome = await this.tryReserve(r);
      }
      if (outcome === 'insufficient_credits') {
        throw new GatewayError('insufficient_credits', { message: `Your credit balance cannot cover this request, which may cost up to ${usd(r.amountNanos)}. Add credits or lower max_tokens.` });
      }
      if (outcome !== 'ok') {
        const [scope, cap] = outcome === 'account_cap' ? ['account', r.accountCapNanos!] : ['API key', r.keyCapNanos!];
        throw new GatewayError('spend_limit_reached', { message: `The monthly spend cap of ${usd(cap)} for this ${scope} is reached; it resets at ${monthResetsAt(now)}.` });
      }
    }
    ctx.reservation = r;
  }

  /** Writes the ledger row and settles the reservation; runs once per admitted request. */
  async settle(ctx: RequestContext, status: number, errorCode: string | undefined): Promise<void> {
    const r = ctx.reservation;
    if (!r) return;
    ctx.reservation = undefined;
    const model = ctx.model!.config;
    // A stream that broke or was abandoned after output started still delivered that output.
    const delivered = status === 200 || (ctx.streamedEvents ?? 0) > 0;
    const input = ctx.usage?.prompt_tokens ?? ctx.promptTokens ?? 0;
    const output = ctx.usage?.completion_tokens ?? ctx.streamedEvents ?? 0;
    const cost = delivered ? costNanos(model.pricing, input, output) : 0;
    const settlement: Settlement = {
      reservation: r,
      costNanos: cost,
      ledger: {
        request_id: ctx.id,
        account_id: r.accountId,
        key_id: r.keyId,
        model: model.id,
        deployment: ctx.deployment?.config.id ?? null,
        endpoint: ctx.endpoint!,
        status,
        error_code: errorCode ?? null,
        input_tokens: delivered ? input : 0,
        output_tokens: delivered ? output : 0,
        started_at: ctx.startedAtIso,
        duration_ms: Math.round((performance.now() - ctx.startedAt) * 100) / 100,
        first_byte_ms: ctx.firstByteMs === undefined ? null : Math.round(ctx.firstByteMs * 100) / 100,
      },
    };
    try {
      await this.settleQueue.submit(settlement);
    } catch (err) {
      // The response is already paid for by the engine's work; the full row goes to the log so
      // it can be replayed, rather than failing a request the user has nearly received.
      this.logger.error({ err, ledger_row: { ...settlement.ledger, cost_nanos: cost } }, 'ledger write failed');
    }
  }

  async flush(): Promise<void> {
    await this.reserveQueue.idle();
    await this.settleQueue.idle();
  }
}
