// Accounts: status, verification, plan, prepaid credits (null: postpaid), a monthly spend cap and
// rate limits.
import { sql, type Kysely } from 'kysely';
import type { AccountsTable, Database } from './tables.js';
import { toNumber } from './money.js';
import type { RateLimits } from '../config/schema.js';
import { rateLimitColumns, toRateLimits } from './rate-limit-columns.js';

export interface Account {
  id: string;
  status: 'active' | 'suspended';
  verified: boolean;
  plan: string;
  /** Available prepaid balance in nano-USD; null: postpaid. */
  creditsNanos: number | null;
  monthlyCapNanos: number | null;
  /** Requests and tokens per minute for the whole account; null: none set. */
  limits: RateLimits | null;
  createdAt: string;
}

export interface NewAccount {
  id: string;
  status?: Account['status'];
  verified?: boolean;
  plan?: string;
  creditsNanos?: number | null;
  monthlyCapNanos?: number | null;
  limits?: RateLimits | null;
}

/** undefined: unchanged. `limits`: an object replaces both limits, null removes them. */
export type AccountPatch = Partial<Pick<Account, 'status' | 'verified' | 'plan' | 'monthlyCapNanos' | 'limits'>>;

export class AlreadyExists extends Error {}

function toAccount(r: AccountsTable): Account {
  return {
    id: r.id,
    status: r.status === 'suspended' ? 'suspended' : 'active',
    verified: Boolean(r.verified),
    plan: r.plan,
    creditsNanos: toNumber(r.credits_nanos),
    monthlyCapNanos: toNumber(r.monthly_cap_nanos),
    limits: toRateLimits(r),
    createdAt: r.created_at,
  };
}

function patchRow(p: AccountPatch): Partial<AccountsTable> {
  const row: Partial<AccountsTable> = {};
  if (p.status !== undefined) row.status = p.status;
  if (p.verified !== undefined) row.verified = p.verified ? 1 : 0;
  if (p.plan !== undefined) row.plan = p.plan;
  if (p.monthlyCapNanos !== undefined) row.monthly_cap_nanos = p.monthlyCapNanos;
  if (p.limits !== undefined) Object.assign(row, rateLimitColumns(p.limits));
  return row;
}

export class AccountsRepo {
  constructor(private readonly db: Kysely<Database>) {}

  async create(a: NewAccount): Promise<Account> {
    const row: AccountsTable = {
      id: a.id,
      status: a.status ?? 'active',
      verified: a.verified ? 1 : 0,
      plan: a.plan ?? 'default',
      credits_nanos: a.creditsNanos ?? null,
      monthly_cap_nanos: a.monthlyCapNanos ?? null,
      created_at: new Date().toISOString(),
      ...rateLimitColumns(a.limits),
    };
    const res = await this.db.insertInto('accounts').values(row).onConflict((oc) => oc.column('id').doNothing()).executeTakeFirst();
    if (Number(res.numInsertedOrUpdatedRows ?? 0) === 0) throw new AlreadyExists(`account ${a.id} exists`);
    return toAccount(row);
  }

  async get(id: string): Promise<Account | undefined> {
    const r = await this.db.selectFrom('accounts').selectAll().where('id', '=', id).executeTakeFirst();
    return r && toAccount(r);
  }

  async list(): Promise<Account[]> {
    return (await this.db.selectFrom('accounts').selectAll().orderBy('id').execute()).map(toAccount);
  }

  async update(id: string, patch: AccountPatch): Promise<Account | undefined> {
    const row = patchRow(patch);
    if (Object.keys(row).length > 0) await this.db.updateTable('accounts').set(row).where('id', '=', id).execute();
    return this.get(id);
  }

  /** Adds to the balance; a postpaid account becomes prepaid with this amount. */
  async addCredits(id: string, nanos: number): Promise<Account | undefined> {
    await this.db
      .updateTable('accounts')
      .set({ credits_nanos: sql`coalesce(credits_nanos, 0) + ${nanos}` })
      .where('id', '=', id)
      .execute();
    return this.get(id);
  }

  /**
   * Config-declared accounts are applied at every start: created if new, otherwise their status,
   * verification, cap and limits follow the file (absent there: none). Credits only seed a new account, so a restart never
   * resets a balance that traffic has drawn down.
   */
  async upsertDeclared(a: NewAccount): Promise<Account> {
    const existing = await this.get(a.id);
    if (!existing) return this.create(a);
    return (await this.update(a.id, { status: a.status, verified: a.verified, plan: a.plan, monthlyCapNanos: a.monthlyCapNanos ?? null, limits: a.limits ?? null }))!;
  }
}
