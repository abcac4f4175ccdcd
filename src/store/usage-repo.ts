// Usage reports from the ledger: totals and per-day rows, filtered by account, key, model, time.
import { sql, type Kysely, type SelectQueryBuilder } from 'kysely';
import type { Database } from './tables.js';

export interface UsageFilter {
  account?: string;
  key?: string;
  model?: string;
  /** ISO timestamps; `from` inclusive, `to` exclusive. */
  from?: string;
  to?: string;
}

export interface UsageTotals {
  requests: number;
  inputTokens: number;
  outputTokens: number;
  costNanos: number;
}

export interface UsageDay extends UsageTotals {
  day: string;
}

export interface AccountSpend extends UsageTotals {
  account: string;
}

type LedgerQuery = SelectQueryBuilder<Database, 'ledger', object>;

function filtered(q: LedgerQuery, f: UsageFilter): LedgerQuery {
  if (f.account !== undefined) q = q.where('account_id', '=', f.account);
  if (f.key !== undefined) q = q.where('key_id', '=', f.key);
  if (f.model !== undefined) q = q.where('model', '=', f.model);
  if (f.from !== undefined) q = q.where('created_at', '>=', f.from);
  if (f.to !== undefined) q = q.where('created_at', '<', f.to);
  return q;
}

const aggregates = [
  sql<number | string>`count(*)`.as('requests'),
  sql<number | string>`coalesce(sum(input_tokens), 0)`.as('input_tokens'),
  sql<number | string>`coalesce(sum(output_tokens), 0)`.as('output_tokens'),
  sql<number | string>`coalesce(sum(cost_nanos), 0)`.as('cost_nanos'),
] as const;

function totals(r: { requests: number | string; input_tokens: number | string; output_tokens: number | string; cost_nanos: number | string }): UsageTotals {
  return { requests: Number(r.requests), inputTokens: Number(r.input_tokens), outputTokens: Number(r.output_tokens), costNanos: Number(r.cost_nanos) };
}

export class UsageRepo {
  constructor(private readonly db: Kysely<Database>) {}

  async report(f: UsageFilter): Promise<{ totals: UsageTotals; days: UsageDay[] }> {
    const total = await filtered(this.db.selectFrom('ledger'), f).select(aggregates).executeTakeFirstOrThrow();
    const day = sql<string>`substr(created_at, 1, 10)`;
    const days = await filtered(this.db.selectFrom('ledger'), f).select([day.as('day'), ...aggregates]).groupBy(day).orderBy(day).execute();
    return { totals: totals(total), days: days.map((d) => ({ day: d.day, ...totals(d) })) };
  }

  /**
   * The accounts that spent most since `since` (the dashboard's top spenders), at most `limit`.
   * Bounded by the primary key: request ids begin with their start time in hex
   * (server/request-id.ts), so the ids from `since` on are one range of the ledger's index,
   * however long the ledger is; created_at then keeps the exact bound.
   */
  async topAccounts(since: Date, limit: number): Promise<AccountSpend[]> {
    const fromId = `req_${since.getTime().toString(16).padStart(12, '0')}`;
    const spent = sql<number | string>`coalesce(sum(cost_nanos), 0)`;
    const rows = await this.db
      .selectFrom('ledger')
      .select(['account_id', ...aggregates])
      .where('request_id', '>=', fromId)
      .where('created_at', '>=', since.toISOString())
      .groupBy('account_id')
      .orderBy(spent, 'desc')
      .orderBy('account_id')
      .limit(limit)
      .execute();
    return rows.map((r) => ({ account: r.account_id, ...totals(r) }));
  }

  async find(requestId: string) {
    return this.db.selectFrom('ledger').selectAll().where('request_id', '=', requestId).executeTakeFirst();
  }

  async count(): Promise<number> {
    const r = await this.db.selectFrom('ledger').select(sql<number | string>`count(*)`.as('n')).executeTakeFirstOrThrow();
    return Number(r.n);
  }
}
