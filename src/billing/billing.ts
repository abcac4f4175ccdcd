// Precedence 8 and the final step: reserve the likely cost when a request is admitted; settle it
// to the real usage by journaling its ledger row before the response's last byte leaves (the
// database catches up in batches, see ledger-journal.ts). The ledger holds what was served: a
// request refused or failed before any output costs nothing and leaves no row.
import { GatewayError } from '../errors/gateway-error.js';
import type { Logger } from '../observability/logger.js';
import type { RequestContext } from '../server/context.js';
import { BillingRepo, type Reservation, type ReserveOutcome, type Settlement } from '../store/billing-repo.js';
import { nanosToUsd } from '../store/money.js';
import { currentMonth, isoAt, monthResetsAt } from '../store/period.js';
import type { Store } from '../store/store.js';
import { countPrompts, promptsBound, promptsOf, sum } from '../tokenize/prompt.js';
import { costNanos } from './pricing.js';
import { maxCompletionTokens, servedTokens } from '../tokenize/request-tokens.js';
import { GroupCommit } from './group-commit.js';
import { LedgerJournal } from './ledger-journal.js';
import { CreditLeases } from './credit-leases.js';
import { holderGone, holderName, instanceOf } from './process-identity.js';

function usd(nanos: number): string {
  return `$${nanosToUsd(nanos).toFixed(4).replace(/0+$/, '').replace(/\.$/, '')}`;
}

/** Journaled settlements reach the database within this, or sooner once this many wait. */
const APPLY_EVERY_MS = 20;
const APPLY_AT = 512;

export class Billing {
  private readonly reserveQueue: GroupCommit<Reservation, ReserveOutcome>;
  private readonly journal: LedgerJournal;
  private readonly leases: CreditLeases;
  private applyTimer: NodeJS.Timeout | undefined;
  private applying: Promise<void> | undefined;
  /** Batches the database refused (it was down): retried with the next apply, files kept till then. */
  private readonly unapplied: Array<{ batch: Settlement[]; text: string; done: () => void }> = [];
  /**
   * When the oldest row not yet committed was journaled, or an apply cycle began after it (so an
   * upper bound, off by at most one cycle); undefined while nothing waits. For the backlog metric.
   */
  private backlogSince: number | undefined;

  /** `onStoreError`: a store call failed (the metric); the failure itself is handled here. */
  constructor(private readonly store: Store, private readonly logger: Logger, journalDir: string, private readonly onStoreError: (op: 'reserve' | 'ledger') => void = () => {}) {
    this.reserveQueue = new GroupCommit((batch) => store.billing.reserve(batch));
    this.journal = new LedgerJournal(journalDir);
    this.leases = new CreditLeases(holderName(instanceOf(journalDir)), (r) => this.tryReserve(r), (items) => store.billing.release(items));
  }

  /**
   * Replays journals left by crashed gateways of this journal directory into the database, then
   * gives back what their credit leases still held; run before serving.
   */
  static async recover(store: Store, journalDir: string): Promise<{ rows: number; leases: number }> {
    const { batch, done } = LedgerJournal.orphans(journalDir);
    if (batch.length > 0) await store.billing.settle(batch);
    done();
    // After the replay: replayed rows use up their part of the leases first.
    const orphaned = (await store.billing.leasesOf(`${instanceOf(journalDir)}:`)).filter((l) => holderGone(l.holder));
    await store.billing.release(orphaned.filter((l) => l.outstandingNanos !== 0).map((l) => ({ reservation: l.reservation, amountNanos: l.outstandingNanos })));
    for (const holder of new Set(orphaned.map((l) => l.holder))) await store.billing.dropEmptyLeases(holder);
    return { rows: batch.length, leases: orphaned.length };
  }

  /**
   * Most this request can cost: the prompt plus max_tokens (or the rest of the context), per
   * choice. The prompt is the exact count once known; until then its byte bound stands in, which
   * only ever overestimates (the surplus is released at settlement).
   */
  private estimateNanos(ctx: RequestContext): number {
    const model = ctx.model!.config;
    const body = ctx.body!;
    const endpoint = ctx.endpoint!;
    const prompt = ctx.promptTokens ?? (ctx.promptCounts ? sum(ctx.promptCounts) : promptsBound((ctx.prompts ??= promptsOf(body, endpoint))));
    return costNanos(model.pricing, prompt, maxCompletionTokens(ctx, prompt));
  }

  private async tryReserve(r: Reservation): Promise<ReserveOutcome> {
    try {
      return await this.reserveQueue.submit(r);
    } catch (cause) {
      this.onStoreError('reserve');
      throw new GatewayError('dependency_unavailable', { message: 'The billing store is unavailable.', cause });
    }
  }

  /** Holds the request's likely cost; a promise only when the database must be asked (or it refuses). */
  admit(ctx: RequestContext): Promise<void> | undefined {
    const { account, key } = ctx.principal!;
    const nowMs = Date.now();
    const r: Reservation = {
      accountId: account.id,
      keyId: key.id,
      period: currentMonth(nowMs),
      amountNanos: 0,
      prepaid: account.creditsNanos !== null,
      accountCapNanos: account.monthlyCapNanos,
      keyCapNanos: key.spendCapNanos,
    };
    if (BillingRepo.needsReservation(r)) {
      r.amountNanos = this.estimateNanos(ctx);
      const held = this.leases.hold(r, nowMs);
      if (held !== 'ok') return this.admitSlowly(ctx, r, held, new Date(nowMs));
    }
    ctx.reservation = r;
    return undefined;
  }

  private async admitSlowly(ctx: RequestContext, r: Reservation, held: Promise<ReserveOutcome> | ReserveOutcome, now: Date): Promise<void> {
    let outcome = await held;
    if (outcome !== 'ok' && ctx.promptCounts === undefined) {
      // Near a limit the byte bound may refuse what the real count allows: count and try again.
      // A prompt over the context is refused at the next step: counting stops there.
      const context = ctx.model!.config.contextLength;
      const counts = (ctx.promptCounts = await countPrompts(ctx.prompts!, context));
      if (counts.every((n) => n <= context)) ctx.promptTokens = sum(counts);
      r.amountNanos = this.estimateNanos(ctx);
      outcome = await this.leases.hold(r);
    }
    if (outcome === 'insufficient_credits') {
      throw new GatewayError('insufficient_credits', { message: `Your credit balance cannot cover this request, which may cost up to ${usd(r.amountNanos)}. Add credits or lower max_tokens.` });
    }
    if (outcome !== 'ok') {
      const [scope, cap] = outcome === 'account_cap' ? ['account', r.accountCapNanos!] : ['API key', r.keyCapNanos!];
      throw new GatewayError('spend_limit_reached', { message: `The monthly spend cap of ${usd(cap)} for this ${scope} is reached; it resets at ${monthResetsAt(now)}.` });
    }
    ctx.reservation = r;
  }

  /** Writes the ledger row and settles the reservation; runs once per admitted request. */
  settle(ctx: RequestContext, status: number, errorCode: string | undefined): Promise<void> {
    const r = ctx.reservation;
    if (!r) return Promise.resolve();
    ctx.reservation = undefined;
    const model = ctx.model!.config;
    const served = servedTokens(ctx, status);
    if (!served) {
      // Refused or failed before any output: the hold goes back and the ledger never hears of it
      // (the request log and the metrics still do).
      if (BillingRepo.needsReservation(r)) this.leases.settle(r, r.amountNanos, 0);
      return Promise.resolve();
    }
    const { input, output } = served;
    const cost = costNanos(model.pricing, input, output);
    // What the request held goes back to its lease, but for the part the ledger row settles.
    const settled = BillingRepo.needsReservation(r) ? this.leases.settle(r, r.amountNanos, cost) : 0;
    // The reservation was this request's alone (the lease keeps its own copy): it becomes the row's.
    r.amountNanos = settled;
    r.lease = this.leases.holder;
    const settlement: Settlement = {
      reservation: r,
      costNanos: cost,
      ledger: {
        request_id: ctx.id,
        account_id: r.accountId,
        key_id: r.keyId,
        model: model.id,
        deployment: ctx.deployment?.config.id ?? null,
        endpoint: ctx.api ?? ctx.endpoint!,
        status,
        error_code: errorCode ?? null,
        input_tokens: input,
        output_tokens: output,
        started_at: isoAt(ctx.startedAtMs),
        duration_ms: Math.round((performance.now() - ctx.startedAt) * 100) / 100,
        first_byte_ms: ctx.firstByteMs === undefined ? null : Math.round(ctx.firstByteMs * 100) / 100,
      },
    };
    // Durable once appended: the response can complete; the database catches up in the background.
    const durable = this.journal.append(settlement);
    this.backlogSince ??= performance.now();
    if (this.journal.size >= APPLY_AT) void this.apply();
    else this.applyTimer ??= setTimeout(() => void this.apply(), APPLY_EVERY_MS);
    return durable;
  }

  /** Moves everything journaled so far into the database, one transaction per batch. */
  private apply(): Promise<void> {
    if (this.applying) return this.applying;
    clearTimeout(this.applyTimer);
    this.applyTimer = undefined;
    this.applying = (async () => {
      const cycleStart = performance.now();
      this.unapplied.push(this.journal.rotate());
      while (this.unapplied.length > 0) {
        const next = this.unapplied[0]!;
        try {
          if (next.batch.length > 0) await this.store.billing.settle(next.batch, next.text);
        } catch (err) {
          // Still safe in its journal file; the next apply (or the next start) tries again.
          this.onStoreError('ledger');
          this.logger.error({ err, rows: next.batch.length }, 'ledger apply failed; kept in the journal');
          this.applyTimer ??= setTimeout(() => void this.apply(), 1_000);
          return;
        }
        this.unapplied.shift();
        next.done();
      }
      // Rows appended while this cycle ran are no older than its start.
      this.backlogSince = this.journal.size > 0 ? cycleStart : undefined;
    })().finally(() => {
      this.applying = undefined;
    });
    return this.applying;
  }

  /** Rows journaled and not yet committed, and how long the oldest has waited (the metrics). */
  backlog(): { rows: number; ageSeconds: number } {
    let rows = this.journal.size;
    for (const u of this.unapplied) rows += u.batch.length;
    const since = rows > 0 ? this.backlogSince : undefined;
    return { rows, ageSeconds: since === undefined ? 0 : (performance.now() - since) / 1000 };
  }

  /**
   * Everything settled so far is in the database, and no lease holds spare credit, when this
   * resolves: balances and spend read afterwards are exact (but for requests in flight).
   */
  async flush(): Promise<void> {
    await this.reserveQueue.idle();
    await this.leases.giveBack();
    await this.flushLedger();
  }

  /**
   * Every ledger row settled before the call is in the database when this resolves (or its batch
   * failed and waits in the journal for a retry). Rows settled meanwhile are not waited for: under
   * steady traffic every cycle meets new ones, so waiting for an empty journal might never end.
   * Unlike flush(), leases are kept: a read of the ledger alone (the request inspector) must not
   * make the next requests reserve their credit again.
   */
  async flushLedger(): Promise<void> {
    // A cycle hands over all that is journaled when it starts. One running now may have started
    // before some of those rows; the cycle after it did not: it is the watermark.
    if (this.applying) await this.applying;
    if (this.journal.size > 0 || this.unapplied.length > 0) await this.apply();
  }

  /** Flushes and closes the journal (shutdown). */
  async close(): Promise<void> {
    this.leases.stop();
    await this.flush();
    // A store that refused the last batch left a retry scheduled: after close nothing may write
    // (the rows wait in their journal files for the next start's replay).
    clearTimeout(this.applyTimer);
    this.applyTimer = undefined;
    if (this.unapplied.length === 0) this.journal.close();
  }
}
