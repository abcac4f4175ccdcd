// Credits, spend caps and the ledger. A reservation takes the likely cost out of the balance and
// holds it against the caps when a request is admitted; settling writes the ledger row and turns
// the reservation into the real cost, in one transaction, so a crash never leaves one without
// the other. Both work on batches: concurrent requests share one transaction.
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database, LedgerTable } from './tables.js';

export interface Reservation {
  accountId: string;
  keyId: string;
  period: string;
  amountNanos: number;
  prepaid: boolean;
  accountCapNanos: number | null;
  keyCapNanos: number | null;
}

export type ReserveOutcome = 'ok' | 'insufficient_credits' | 'account_cap' | 'key_cap';

export interface Settlement {
  reservation: Reservation;
  /** What the request really cost; 0 for a request that failed before any output. */
  costNanos: number;
  ledger: Omit<LedgerTable, 'cost_nanos' | 'created_at'>;
}

type Trx = Transaction<Database>;

async function holdAgainstCap(trx: Trx, scope: string, period: string, amount: number, cap: number): Promise<boolean> {
  await trx.insertInto('spend').values({ scope, period, spent_nanos: 0, reserved_nanos: 0 }).onConflict((oc) => oc.columns(['scope', 'period']).doNothing()).execute();
  const res = await trx
    .updateTable('spend')
    .set({ reserved_nanos: sql`reserved_nanos + ${amount}` })
    .where('scope', '=', scope)
    .where('period', '=', period)
    .where(sql<boolean>`spent_nanos + reserved_nanos + ${amount} <= ${cap}`)
    .executeTakeFirst();
  return Number(res.numUpdatedRows) === 1;
}

async function releaseCap(trx: Trx, scope: string, period: string, amount: number): Promise<void> {
  await trx.updateTable('spend').set({ reserved_nanos: sql`reserved_nanos - ${amount}` }).where('scope', '=', scope).where('period', '=', period).execute();
}

async function reserveOne(trx: Trx, r: Reservation): Promise<ReserveOutcome> {
  const keyScope = `key:${r.keyId}`;
  const accountScope = `account:${r.accountId}`;
  if (r.prepaid) {
    const res = await trx
      .updateTable('accounts')
      .set({ credits_nanos: sql`credits_nanos - ${r.amountNanos}` })
      .where('id', '=', r.accountId)
      .where('credits_nanos', '>=', r.amountNanos)
      .executeTakeFirst();
    if (Number(res.numUpdatedRows) !== 1) return 'insufficient_credits';
  }
  const refundCredits = async () => {
    if (r.prepaid) await trx.updateTable('accounts').set({ credits_nanos: sql`credits_nanos + ${r.amountNanos}` }).where('id', '=', r.accountId).execute();
  };
  if (r.accountCapNanos !== null && !(await holdAgainstCap(trx, accountScope, r.period, r.amountNanos, r.accountCapNanos))) {
    await refundCredits();
    return 'account_cap';
  }
  if (r.keyCapNanos !== null && !(await holdAgainstCap(trx, keyScope, r.period, r.amountNanos, r.keyCapNanos))) {
    if (r.accountCapNanos !== null) await releaseCap(trx, accountScope, r.period, r.amountNanos);
    await refundCredits();
    return 'key_cap';
  }
  return 'ok';
}

/** Adds the real cost to a scope's month and drops what was held for it. */
async function recordSpend(trx: Trx, scope: string, period: string, cost: number, held: number): Promise<void> {
  await trx
    .insertInto('spend')
    .values({ scope, period, spent_nanos: cost, reserved_nanos: -held })
    .onConflict((oc) => oc.columns(['scope', 'period']).doUpdateSet({
      spent_nanos: sql`spend.spent_nanos + ${cost}`,
      reserved_nanos: sql`spend.reserved_nanos - ${held}`,
    }))
    .execute();
}

export class BillingRepo {
  constructor(private readonly db: Kysely<Database>) {}

  /** Whether any reservation needs the database (prepaid or capped); others are admitted freely. */
  static needsReservation(r: Reservation): boolean {
    return r.prepaid || r.accountCapNanos !== null || r.keyCapNanos !== null;
  }

  async reserve(batch: Reservation[]): Promise<ReserveOutcome[]> {
    return this.db.transaction().execute(async (trx) => {
      const out: ReserveOutcome[] = [];
      for (const r of batch) out.push(await reserveOne(trx, r));
      return out;
    });
  }

  async settle(batch: Settlement[]): Promise<void> {
    const createdAt = new Date().toISOString();
    await this.db.transaction().execute(async (trx) => {
      await trx.insertInto('ledger').values(batch.map((s) => ({ ...s.ledger, cost_nanos: s.costNanos, created_at: createdAt }))).execute();
      for (const { reservation: r, costNanos } of batch) {
        const held = BillingRepo.needsReservation(r) ? r.amountNanos : 0;
        // Charged whenever the account is prepaid now, even if the cached view at admission said
        // postpaid: the database, not the cache, decides who pays.
        const refund = r.prepaid ? held : 0;
        if (refund !== costNanos) {
          await trx.updateTable('accounts').set({ credits_nanos: sql`credits_nanos + ${refund - costNanos}` }).where('id', '=', r.accountId).where('credits_nanos', 'is not', null).execute();
        }
        await recordSpend(trx, `account:${r.accountId}`, r.period, costNanos, r.accountCapNanos !== null ? held : 0);
        await recordSpend(trx, `key:${r.keyId}`, r.period, costNanos, r.keyCapNanos !== null ? held : 0);
      }
    });
  }

  async spent(scope: string, period: string): Promise<number> {
    const r = await this.db.selectFrom('spend').select('spent_nanos').where('scope', '=', scope).where('period', '=', period).executeTakeFirst();
    return r ? Number(r.spent_nanos) : 0;
  }
}
