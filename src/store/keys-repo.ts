// API keys: only the SHA-256 hash of the secret is stored.
import type { Kysely } from 'kysely';
import type { ApiKeysTable, Database } from './tables.js';
import { toNumber } from './money.js';
import type { RateLimits } from '../config/schema.js';
import { rateLimitColumns, toRateLimits } from './rate-limit-columns.js';

export type Priority = 'critical' | 'standard' | 'batch';

export interface ApiKeyRecord {
  id: string;
  accountId: string;
  keyHash: string;
  name: string | null;
  /** Allowed model patterns (`*` wildcards); null: every model. */
  models: string[] | null;
  priority: Priority;
  spendCapNanos: number | null;
  expiresAt: string | null;
  /** Requests and tokens per minute for this key; null: none set. */
  limits: RateLimits | null;
  revokedAt: string | null;
  createdAt: string;
  lastUsedAt: string | null;
}

export interface NewApiKey {
  id: string;
  accountId: string;
  keyHash: string;
  name?: string | null;
  models?: string[] | null;
  priority?: Priority;
  spendCapNanos?: number | null;
  expiresAt?: string | null;
  limits?: RateLimits | null;
}

/** undefined: unchanged; null clears (models null: every model). `limits` replaces both limits. */
export type KeyPatch = Partial<Pick<ApiKeyRecord, 'name' | 'models' | 'priority' | 'spendCapNanos' | 'expiresAt' | 'limits'>>;

function toKey(r: ApiKeysTable): ApiKeyRecord {
  return {
    id: r.id,
    accountId: r.account_id,
    keyHash: r.key_hash,
    name: r.name,
    models: r.models === null ? null : (JSON.parse(r.models) as string[]),
    priority: r.priority === 'critical' || r.priority === 'batch' ? r.priority : 'standard',
    spendCapNanos: toNumber(r.spend_cap_nanos),
    expiresAt: r.expires_at,
    limits: toRateLimits(r),
    revokedAt: r.revoked_at,
    createdAt: r.created_at,
    lastUsedAt: r.last_used_at,
  };
}

export class KeysRepo {
  constructor(private readonly db: Kysely<Database>) {}

  async create(k: NewApiKey): Promise<ApiKeyRecord> {
    const row: ApiKeysTable = {
      id: k.id,
      account_id: k.accountId,
      key_hash: k.keyHash,
      name: k.name ?? null,
      models: k.models ? JSON.stringify(k.models) : null,
      priority: k.priority ?? 'standard',
      spend_cap_nanos: k.spendCapNanos ?? null,
      expires_at: k.expiresAt ?? null,
      revoked_at: null,
      created_at: new Date().toISOString(),
      last_used_at: null,
      ...rateLimitColumns(k.limits),
    };
    await this.db.insertInto('api_keys').values(row).execute();
    return toKey(row);
  }

  async findById(id: string): Promise<ApiKeyRecord | undefined> {
    const r = await this.db.selectFrom('api_keys').selectAll().where('id', '=', id).executeTakeFirst();
    return r && toKey(r);
  }

  async findByHash(hash: string): Promise<ApiKeyRecord | undefined> {
    const r = await this.db.selectFrom('api_keys').selectAll().where('key_hash', '=', hash).executeTakeFirst();
    return r && toKey(r);
  }

  async listForAccount(accountId: string): Promise<ApiKeyRecord[]> {
    return (await this.db.selectFrom('api_keys').selectAll().where('account_id', '=', accountId).orderBy('created_at').execute()).map(toKey);
  }

  async update(id: string, p: KeyPatch): Promise<ApiKeyRecord | undefined> {
    const row: Partial<ApiKeysTable> = {};
    if (p.name !== undefined) row.name = p.name;
    if (p.models !== undefined) row.models = p.models === null ? null : JSON.stringify(p.models);
    if (p.priority !== undefined) row.priority = p.priority;
    if (p.spendCapNanos !== undefined) row.spend_cap_nanos = p.spendCapNanos;
    if (p.expiresAt !== undefined) row.expires_at = p.expiresAt;
    if (p.limits !== undefined) Object.assign(row, rateLimitColumns(p.limits));
    if (Object.keys(row).length > 0) await this.db.updateTable('api_keys').set(row).where('id', '=', id).execute();
    return this.findById(id);
  }

  async revoke(id: string): Promise<boolean> {
    const res = await this.db.updateTable('api_keys').set({ revoked_at: new Date().toISOString() }).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();
    return Number(res.numUpdatedRows) > 0;
  }

  async touch(id: string, at: string): Promise<void> {
    await this.db.updateTable('api_keys').set({ last_used_at: at }).where('id', '=', id).execute();
  }

  async count(): Promise<number> {
    const r = await this.db.selectFrom('api_keys').select((eb) => eb.fn.countAll<number | string>().as('n')).executeTakeFirstOrThrow();
    return Number(r.n);
  }

  /** A config-declared key: matched by its hash, created once, its settings updated from the file. */
  async upsertDeclared(k: Omit<NewApiKey, 'id'> & { id: () => string }): Promise<ApiKeyRecord> {
    const existing = await this.findByHash(k.keyHash);
    if (!existing) return this.create({ ...k, id: k.id() });
    await this.db
      .updateTable('api_keys')
      .set({
        account_id: k.accountId,
        name: k.name ?? existing.name,
        models: k.models ? JSON.stringify(k.models) : null,
        priority: k.priority ?? 'standard',
        spend_cap_nanos: k.spendCapNanos ?? null,
        expires_at: k.expiresAt ?? null,
        ...rateLimitColumns(k.limits),
      })
      .where('id', '=', existing.id)
      .execute();
    return (await this.findById(existing.id))!;
  }
}
