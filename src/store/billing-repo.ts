// Credits, spend caps and the ledger. A reservation takes the likely cost out of the balance and
// holds it against the caps when a request is admitted; settling writes the ledger row and turns
// the reservation into the real cost, in one transaction, so a crash never leaves one without
// the other. Both work on batches (concurrent requests share one transaction), and both run on
// every request, so their queries are compiled once (prepared-query.ts).
import { sql, type Kysely, type Transaction } from 'kysely';
import { LRUCache } from 'lru-cache';
import type { Database, LedgerTable } from './tables.js';
import { prepareQuery } from './prepared-query.js';

export interface Reservation {
  accountId: string;
  keyId: string;
  period: string;
  amountNanos: number;
  prepaid: boolean;
  accountCapNanos: number | null;
  keyCapNanos: number | null;
  /** Holder of the credit lease this amount belongs to (billing/credit-leases.ts), if any. */
  lease?: string;
}

/** Held room given back without a request: a lease's unused part. */
export interface Release {
  reservation: Reservation;
  amountNanos: number;
}

/** A lease row of a holder, as `leasesOf` finds it. */
export interface LeaseRow {
  holder: string;
  reservation: Reservation;
  outstandingNanos: number;
}

export type ReserveOutcome = 'ok' | 'insufficient_credits' | 'account_cap' | 'key_cap';

export interface Settlement {
  reservation: Reservation;
  /** What the request really cost; 0 for a request that failed before any output. */
  costNanos: number;
  ledger: Omit<LedgerTable, 'cost_nanos' | 'created_at'>;
}

type Trx = Transaction<Database>;
type LedgerRow = LedgerTable;

const LEDGER_COLUMNS = ['request_id', 'account_id', 'key_id', 'model', 'deployment', 'endpoint', 'status', 'error_code', 'input_tokens', 'output_tokens', 'cost_nanos', 'started_at', 'duration_ms', 'first_byte_ms', 'created_at'] as const;

/** Reservations that share account, key, period and limits: one group, one lease. */
export function reservationGroup(r: Reservation): string {
  return `${r.accountId}\u0000${r.keyId}\u0000${r.period}\u0000${r.prepaid}\u0000${r.accountCapNanos}\u0000${r.keyCapNanos}`;
}

function leaseKey(r: Reservation): string {
  return `${r.lease}\u0000${r.accountId}\u0000${r.keyId}\u0000${r.period}\u0000${r.prepaid}\u0000${r.accountCapNanos !== null}\u0000${r.keyCapNanos !== null}`;
}

/** Sums amounts per lease, so a batch moves each lease row once. */
class LeaseMoves {
  private readonly moves = new Map<string, { r: Reservation; delta: number }>();
  add(r: Reservation, delta: number): void {
    if (r.lease === undefined || delta === 0) return;
    const k = leaseKey(r);
    const m = this.moves.get(k);
    if (m) m.delta += delta;
    else this.moves.set(k, { r, delta });
  }
  values() {
    return this.moves.values();
  }
}

function groupBy<T>(items: T[], key: (t: T) => string): Map<string, number[]> {
  const groups = new Map<string, number[]>();
  items.forEach((item, i) => {
    const k = key(item);
    const g = groups.get(k);
    if (g) g.push(i);
    else groups.set(k, [i]);
  });
  return groups;
}

/**
 * Ledger rows inserted per statement in a batch's bulk: one statement instead of one per row cuts
 * the per-row cost of a settlement batch by more than half (the rest go one by one).
 */
const LEDGER_CHUNK = 32;

function ledgerValues(v: unknown[], at: number): LedgerRow {
  return Object.fromEntries(LEDGER_COLUMNS.map((c, i) => [c, v[at + i]])) as unknown as LedgerRow;
}

function billingQueries(db: Kysely<Database>) {
  return {
    takeCredits: prepareQuery<[number, string]>(db, 2, (d, amount, id) =>
      d.updateTable('accounts').set({ credits_nanos: sql`credits_nanos - ${amount}` }).where('id', '=', id).where('credits_nanos', '>=', amount)),
    /** Adds to a prepaid balance; a postpaid account (null) is left alone. */
    addCredits: prepareQuery<[number, string]>(db, 2, (d, delta, id) =>
      d.updateTable('accounts').set({ credits_nanos: sql`credits_nanos + ${delta}` }).where('id', '=', id).where('credits_nanos', 'is not', null)),
    ensureSpendRow: prepareQuery<[string, string]>(db, 2, (d, scope, period) =>
      d.insertInto('spend').values({ scope, period, spent_nanos: 0, reserved_nanos: 0 }).onConflict((oc) => oc.columns(['scope', 'period']).doNothing())),
    hold: prepareQuery<[number, string, string, number]>(db, 4, (d, amount, scope, period, cap) =>
      d.updateTable('spend').set({ reserved_nanos: sql`reserved_nanos + ${amount}` }).where('scope', '=', scope).where('period', '=', period)
        .where(sql<boolean>`spent_nanos + reserved_nanos + ${amount} <= ${cap}`)),
    release: prepareQuery<[number, string, string]>(db, 3, (d, amount, scope, period) =>
      d.updateTable('spend').set({ reserved_nanos: sql`reserved_nanos - ${amount}` }).where('scope', '=', scope).where('period', '=', period)),
    /** Adds the real cost to a scope's month and drops what was held for it. */
    recordSpend: prepareQuery<[string, string, number, number]>(db, 4, (d, scope, period, cost, held) =>
      d.insertInto('spend').values({ scope, period, spent_nanos: cost, reserved_nanos: sql`0 - ${held}` })
        .onConflict((oc) => oc.columns(['scope', 'period']).doUpdateSet({ spent_nanos: sql`spend.spent_nanos + ${cost}`, reserved_nanos: sql`spend.reserved_nanos - ${held}` }))),
    /** Moves a lease's outstanding amount (positive: taken; negative: used or given back). */
    moveLease: prepareQuery<[string, string, string, string, number, number, number, number]>(db, 8, (d, holder, account, key, period, prepaid, accountCapped, keyCapped, delta) =>
      d.insertInto('credit_leases').values({ holder, account_id: account, key_id: key, period, prepaid, account_capped: accountCapped, key_capped: keyCapped, outstanding_nanos: delta })
        .onConflict((oc) => oc.columns(['holder', 'account_id', 'key_id', 'period', 'prepaid', 'account_capped', 'key_capped'])
          .doUpdateSet({ outstanding_nanos: sql`credit_leases.outstanding_nanos + ${delta}` }))),
    /** LEDGER_CHUNK rows in one statement; request ids already on the ledger are skipped. */
    ledgerRows: prepareQuery<LedgerRow[typeof LEDGER_COLUMNS[number]][]>(db, LEDGER_COLUMNS.length * LEDGER_CHUNK, (d, ...v) =>
      d.insertInto('ledger').values(Array.from({ length: LEDGER_CHUNK }, (_, r) => ledgerValues(v, r * LEDGER_COLUMNS.length)))
        .onConflict((oc) => oc.column('request_id').doNothing())),
    ledgerRow: prepareQuery<LedgerRow[typeof LEDGER_COLUMNS[number]][]>(db, LEDGER_COLUMNS.length, (d, ...v) =>
      d.insertInto('ledger').values(ledgerValues(v, 0)).onConflict((oc) => oc.column('request_id').doNothing())),
  };
}

/** Balance and spend changes summed per account and scope, so a batch moves each row once. */
class MoneyMoves {
  readonly credits = new Map<string, number>();
  readonly spend = new Map<string, { scope: string; period: string; cost: number; held: number }>();

  /** `held` was reserved for what really cost `cost`: the difference goes back. */
  add(r: Reservation, held: number, cost: number): void {
    // Charged whenever the account is prepaid now, even if the cached view at admission said
    // postpaid: the database, not the cache, decides who pays.
    this.credits.set(r.accountId, (this.credits.get(r.accountId) ?? 0) + (r.prepaid ? held : 0) - cost);
    this.addSpend(`account:${r.accountId}`, r.period, cost, r.accountCapNanos !== null ? held : 0);
    this.addSpend(`key:${r.keyId}`, r.period, cost, r.keyCapNanos !== null ? held : 0);
  }

  private addSpend(scope: string, period: string, cost: number, held: number): void {
    const k = `${scope}\u0000${period}`;
    const s = this.spend.get(k) ?? { scope, period, cost: 0, held: 0 };
    s.cost += cost;
    s.held += held;
    this.spend.set(k, s);
  }
}

export class BillingRepo {
  private readonly q: ReturnType<typeof billingQueries>;
  /** Spend rows known to exist: they are never deleted, so each is ensured once per process. */
  private readonly knownSpendRows = new LRUCache<string, true>({ max: 100_000 });

  constructor(private readonly db: Kysely<Database>) {
    this.q = billingQueries(db);
  }

  /** Whether any reservation needs the database (prepaid or capped); others are admitted freely. */
  static needsReservation(r: Reservation): boolean {
    return r.prepaid || r.accountCapNanos !== null || r.keyCapNanos !== null;
  }

  private async holdAgainstCap(trx: Trx, scope: string, period: string, amount: number, cap: number): Promise<boolean> {
    const k = `${scope}\u0000${period}`;
    if (!this.knownSpendRows.has(k)) {
      await this.q.ensureSpendRow.run(trx, scope, period);
      this.knownSpendRows.set(k, true);
    }
    return (await this.q.hold.affected(trx, amount, scope, period, cap)) === 1;
  }

  private async reserveOne(trx: Trx, r: Reservation): Promise<ReserveOutcome> {
    const accountScope = `account:${r.accountId}`;
    if (r.prepaid && (await this.q.takeCredits.affected(trx, r.amountNanos, r.accountId)) !== 1) return 'insufficient_credits';
    const refund = async () => {
      if (r.prepaid) await this.q.addCredits.run(trx, r.amountNanos, r.accountId);
    };
    if (r.accountCapNanos !== null && !(await this.holdAgainstCap(trx, accountScope, r.period, r.amountNanos, r.accountCapNanos))) {
      await refund();
      return 'account_cap';
    }
    if (r.keyCapNanos !== null && !(await this.holdAgainstCap(trx, `key:${r.keyId}`, r.period, r.amountNanos, r.keyCapNanos))) {
      if (r.accountCapNanos !== null) await this.q.release.run(trx, r.amountNanos, accountScope, r.period);
      await refund();
      return 'key_cap';
    }
    return 'ok';
  }

  /**
   * Reservations that share an account, key, period and limits are first tried as one (their
   * sum): when the sum fits, which is the usual case, a batch costs a few statements instead of a
   * few per request. When it does not fit, they are decided one by one, in arrival order.
   */
  async reserve(batch: Reservation[]): Promise<ReserveOutcome[]> {
    return this.db.transaction().execute(async (trx) => {
      const out = new Array<ReserveOutcome>(batch.length);
      for (const indexes of groupBy(batch, reservationGroup).values()) {
        const first = batch[indexes[0]!]!;
        const total = indexes.reduce((a, i) => a + batch[i]!.amountNanos, 0);
        if (indexes.length > 1 && (await this.reserveOne(trx, { ...first, amountNanos: total })) === 'ok') {
          for (const i of indexes) out[i] = 'ok';
          continue;
        }
        for (const i of indexes) out[i] = await this.reserveOne(trx, batch[i]!);
      }
      const leases = new LeaseMoves();
      batch.forEach((r, i) => out[i] === 'ok' && leases.add(r, r.amountNanos));
      await this.moveLeases(trx, leases);
      return out;
    });
  }

  private async moveLeases(trx: Trx, leases: LeaseMoves): Promise<void> {
    for (const { r, delta } of leases.values()) {
      await this.q.moveLease.run(trx, r.lease!, r.accountId, r.keyId, r.period, Number(r.prepaid), Number(r.accountCapNanos !== null), Number(r.keyCapNanos !== null), delta);
    }
  }

  /**
   * Gives held room back: credits to a prepaid balance, room under the caps, and the lease's
   * outstanding amount, as a request that cost nothing would.
   */
  async release(items: Release[]): Promise<void> {
    if (items.length === 0) return;
    await this.db.transaction().execute(async (trx) => {
      const money = new MoneyMoves();
      const leases = new LeaseMoves();
      for (const { reservation: r, amountNanos } of items) {
        money.add(r, amountNanos, 0);
        leases.add(r, -amountNanos);
      }
      await this.applyMoney(trx, money);
      await this.moveLeases(trx, leases);
    });
  }

  /** Leases whose holder starts with `prefix` (one gateway instance's processes). */
  async leasesOf(prefix: string): Promise<LeaseRow[]> {
    const rows = await this.db.selectFrom('credit_leases').selectAll().where('holder', 'like', `${prefix}%`).execute();
    return rows.map((row) => ({
      holder: row.holder,
      outstandingNanos: Number(row.outstanding_nanos),
      reservation: {
        accountId: row.account_id,
        keyId: row.key_id,
        period: row.period,
        amountNanos: 0,
        prepaid: row.prepaid === 1,
        // Only whether a cap was held matters for giving room back; 0 stands for "some cap".
        accountCapNanos: row.account_capped === 1 ? 0 : null,
        keyCapNanos: row.key_capped === 1 ? 0 : null,
        lease: row.holder,
      },
    }));
  }

  /** Prepaid credit of an account held in leases, by every holder. */
  async leased(accountId: string): Promise<number> {
    const row = await this.db.selectFrom('credit_leases').select(sql<string | number>`coalesce(sum(outstanding_nanos), 0)`.as('n'))
      .where('account_id', '=', accountId).where('prepaid', '=', 1).executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  /** Drops a holder's lease rows that hold nothing any more. */
  async dropEmptyLeases(holder: string): Promise<void> {
    await this.db.deleteFrom('credit_leases').where('holder', '=', holder).where('outstanding_nanos', '=', 0).execute();
  }

  private async applyMoney(trx: Trx, money: MoneyMoves): Promise<void> {
    for (const [accountId, delta] of money.credits) if (delta !== 0) await this.q.addCredits.run(trx, delta, accountId);
    for (const s of money.spend.values()) await this.q.recordSpend.run(trx, s.scope, s.period, s.cost, s.held);
  }

  /**
   * Ledger rows, then balances and spend moved once per account and scope. Idempotent: a row whose
   * request id is already on the ledger (a journal replayed after a crash) moves no money again.
   */
  async settle(batch: Settlement[]): Promise<void> {
    const createdAt = new Date().toISOString();
    await this.db.transaction().execute(async (trx) => {
      const money = new MoneyMoves();
      const leases = new LeaseMoves();
      // In LEDGER_COLUMNS order.
      const values = ({ ledger: l, costNanos }: Settlement): LedgerRow[typeof LEDGER_COLUMNS[number]][] => [
        l.request_id, l.account_id, l.key_id, l.model, l.deployment, l.endpoint, l.status, l.error_code,
        l.input_tokens, l.output_tokens, costNanos, l.started_at, l.duration_ms, l.first_byte_ms, createdAt,
      ];
      // Request ids new to the ledger; a replayed one is there already and moves no money again.
      const added = new Set<string>();
      let at = 0;
      const oneByOne: Settlement[] = [];
      for (; at + LEDGER_CHUNK <= batch.length; at += LEDGER_CHUNK) {
        const chunk = batch.slice(at, at + LEDGER_CHUNK);
        // Usually every row is new. When one was there already (a replay), which one is not known
        // (RETURNING would say, but reading its rows back cost a quarter of the batch): the chunk
        // is undone and its rows go one by one, each telling whether it was new.
        await sql`savepoint ledger_chunk`.execute(trx);
        if ((await this.q.ledgerRows.affected(trx, ...chunk.flatMap(values))) === LEDGER_CHUNK) {
          for (const s of chunk) added.add(s.ledger.request_id);
          await sql`release savepoint ledger_chunk`.execute(trx);
        } else {
          await sql`rollback to savepoint ledger_chunk`.execute(trx);
          await sql`release savepoint ledger_chunk`.execute(trx);
          oneByOne.push(...chunk);
        }
      }
      for (const s of [...oneByOne, ...batch.slice(at)]) {
        if ((await this.q.ledgerRow.affected(trx, ...values(s))) === 1) added.add(s.ledger.request_id);
      }
      for (const { reservation: r, costNanos, ledger } of batch) {
        // delete: the same request id twice in one batch is charged once.
        if (!added.delete(ledger.request_id)) continue;
        const held = BillingRepo.needsReservation(r) ? r.amountNanos : 0;
        money.add(r, held, costNanos);
        leases.add(r, -held);
      }
      await this.applyMoney(trx, money);
      await this.moveLeases(trx, leases);
    });
  }

  async spent(scope: string, period: string): Promise<number> {
    const r = await this.db.selectFrom('spend').select('spent_nanos').where('scope', '=', scope).where('period', '=', period).executeTakeFirst();
    return r ? Number(r.spent_nanos) : 0;
  }
}
