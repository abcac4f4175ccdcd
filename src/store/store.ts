// The store interface: everything above it is backend-agnostic. Implemented once over Kysely,
// which speaks both SQLite (embedded default) and PostgreSQL (scaled out).
import { Kysely, Migrator, sql } from 'kysely';
import type { Database } from './tables.js';
import { migrationProvider } from './migrations.js';

export interface Account {
  id: string;
  status: 'active' | 'suspended';
  verified: boolean;
  plan: string;
  credits: number | null;
  monthlySpendCap: number | null;
  createdAt: string;
}

export interface ApiKeyRecord {
  id: string;
  accountId: string;
  keyHash: string;
  name: string | null;
  models: string[] | null;
  priority: 'critical' | 'standard' | 'batch';
  spendCap: number | null;
  expiresAt: string | null;
  revokedAt: string | null;
  createdAt: string;
  lastUsedAt: string | null;
}

export type NewAccount = Pick<Account, 'id'> & Partial<Omit<Account, 'id' | 'createdAt'>>;
export type NewApiKey = Pick<ApiKeyRecord, 'id' | 'accountId' | 'keyHash'> & Partial<Omit<ApiKeyRecord, 'id' | 'accountId' | 'keyHash' | 'createdAt'>>;

function toAccount(r: Database['accounts']): Account {
  return {
    id: r.id,
    status: r.status === 'suspended' ? 'suspended' : 'active',
    verified: Boolean(r.verified),
    plan: r.plan,
    credits: r.credits,
    monthlySpendCap: r.monthly_spend_cap,
    createdAt: r.created_at,
  };
}

function toKey(r: Database['api_keys']): ApiKeyRecord {
  return {
    id: r.id,
    accountId: r.account_id,
    keyHash: r.key_hash,
    name: r.name,
    models: r.models === null ? null : (JSON.parse(r.models) as string[]),
    priority: r.priority === 'critical' || r.priority === 'batch' ? r.priority : 'standard',
    spendCap: r.spend_cap,
    expiresAt: r.expires_at,
    revokedAt: r.revoked_at,
    createdAt: r.created_at,
    lastUsedAt: r.last_used_at,
  };
}

export class Store {
  constructor(readonly db: Kysely<Database>, readonly backend: 'sqlite' | 'postgres') {}

  async migrate(): Promise<void> {
    const { error, results } = await new Migrator({ db: this.db, provider: migrationProvider }).migrateToLatest();
    if (error) {
      const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
      throw new Error(`migration ${failed} failed: ${(error as Error).message}`, { cause: error });
    }
  }

  async ping(): Promise<void> {
    await sql`select 1`.execute(this.db);
  }

  async createAccount(a: NewAccount): Promise<Account> {
    const row = {
      id: a.id,
      status: a.status ?? 'active',
      verified: a.verified ? 1 : 0,
      plan: a.plan ?? 'default',
      credits: a.credits ?? null,
      monthly_spend_cap: a.monthlySpendCap ?? null,
      created_at: new Date().toISOString(),
    };
    await this.db.insertInto('accounts').values(row).execute();
    return toAccount(row);
  }

  async getAccount(id: string): Promise<Account | undefined> {
    const r = await this.db.selectFrom('accounts').selectAll().where('id', '=', id).executeTakeFirst();
    return r && toAccount(r);
  }

  async createKey(k: NewApiKey): Promise<ApiKeyRecord> {
    const row = {
      id: k.id,
      account_id: k.accountId,
      key_hash: k.keyHash,
      name: k.name ?? null,
      models: k.models ? JSON.stringify(k.models) : null,
      priority: k.priority ?? 'standard',
      spend_cap: k.spendCap ?? null,
      expires_at: k.expiresAt ?? null,
      revoked_at: null,
      created_at: new Date().toISOString(),
      last_used_at: null,
    };
    await this.db.insertInto('api_keys').values(row).execute();
    return toKey(row);
  }

  async findKeyById(id: string): Promise<ApiKeyRecord | undefined> {
    const r = await this.db.selectFrom('api_keys').selectAll().where('id', '=', id).executeTakeFirst();
    return r && toKey(r);
  }

  async findKeyByHash(hash: string): Promise<ApiKeyRecord | undefined> {
    const r = await this.db.selectFrom('api_keys').selectAll().where('key_hash', '=', hash).executeTakeFirst();
    return r && toKey(r);
  }

  async revokeKey(id: string): Promise<boolean> {
    const res = await this.db.updateTable('api_keys').set({ revoked_at: new Date().toISOString() }).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();
    return Number(res.numUpdatedRows) > 0;
  }

  async countKeys(): Promise<number> {
    const r = await this.db.selectFrom('api_keys').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return Number(r.n);
  }

  async close(): Promise<void> {
    await this.db.destroy();
  }
}
