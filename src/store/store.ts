// The store: one interface over SQLite (embedded default) and PostgreSQL (scaled out), both
// through Kysely. Nothing above it knows which backend is in use.
import { Migrator, sql, type Kysely } from 'kysely';
import type { Database } from './tables.js';
import { migrationProvider } from './migrations.js';
import { AccountsRepo } from './accounts-repo.js';
import { KeysRepo } from './keys-repo.js';
import { BillingRepo } from './billing-repo.js';
import type { BillingStore } from './billing-store.js';
import { UsageRepo } from './usage-repo.js';
import { ResponsesRepo } from './responses-repo.js';
import { RequestLogRepo, type RequestLogWriter } from './request-log-repo.js';

export type { Account, NewAccount, AccountPatch } from './accounts-repo.js';
export type { ApiKeyRecord, NewApiKey, Priority } from './keys-repo.js';
export type { StoredResponse } from './responses-repo.js';

export class Store {
  readonly accounts: AccountsRepo;
  readonly keys: KeysRepo;
  /** Set after opening when billing runs elsewhere (an SQLite file's billing worker). */
  billing: BillingStore;
  readonly usage: UsageRepo;
  /** Stored responses of the Responses API (`store: true`). */
  readonly responses: ResponsesRepo;
  /** The request log's reads (the request inspector). */
  readonly requestLog: RequestLogRepo;
  /** The request log's writes: here, or on an SQLite file's billing worker (set after opening). */
  requestLogWriter: RequestLogWriter;

  constructor(readonly db: Kysely<Database>, readonly backend: 'sqlite' | 'postgres', private readonly migrationSchema?: string) {
    this.accounts = new AccountsRepo(db);
    this.keys = new KeysRepo(db);
    this.billing = new BillingRepo(db);
    this.usage = new UsageRepo(db);
    this.responses = new ResponsesRepo(db);
    this.requestLog = new RequestLogRepo(db);
    this.requestLogWriter = this.requestLog;
  }

  async migrate(): Promise<void> {
    const migrator = new Migrator({ db: this.db, provider: migrationProvider, ...(this.migrationSchema && { migrationTableSchema: this.migrationSchema }) });
    const { error, results } = await migrator.migrateToLatest();
    if (error) {
      const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
      throw new Error(`migration ${failed} failed: ${(error as Error).message}`, { cause: error });
    }
  }

  async ping(): Promise<void> {
    await sql`select 1`.execute(this.db);
  }

  async close(): Promise<void> {
    await this.billing.close?.();
    await this.db.destroy();
  }
}
