// Opens the store named by the config's `store` URL and applies migrations.
// `sqlite://PATH` (or `sqlite::memory:`), `postgres://user@host:port/db[?schema=NAME]`.
import { Kysely, PostgresDialect, sql } from 'kysely';
import { resolve } from 'node:path';
import type { Database } from './tables.js';
import { Store } from './store.js';
import { openSqliteKysely } from './sqlite-database.js';
import { WorkerBilling } from './worker-billing.js';

/** `sqlite://./sluice.db` → absolute path; `sqlite::memory:` → `:memory:`. */
export function sqlitePath(url: string): string {
  const rest = url.replace(/^sqlite:(\/\/)?/, '');
  return rest === ':memory:' ? rest : resolve(rest);
}

async function openSqlite(url: string): Promise<Store> {
  const path = sqlitePath(url);
  const store = new Store(openSqliteKysely(path), 'sqlite');
  await store.migrate();
  // A file can be opened twice: billing moves to its own thread (see billing-worker.ts). An
  // in-memory database exists only on its one connection, so its billing stays here.
  // The request log's batches go there too: written on this thread, a batch would stall requests,
  // and waiting for the worker's write lock (busy_timeout) would block the event loop.
  if (path !== ':memory:') {
    const worker = new WorkerBilling(path);
    store.billing = worker;
    store.requestLogWriter = worker;
  }
  return store;
}

async function openPostgres(url: string): Promise<Store> {
  // Loaded only when used: the embedded default never pays for the PostgreSQL client.
  const { default: pg } = await import('pg');
  const u = new URL(url);
  const schema = u.searchParams.get('schema') ?? undefined;
  u.searchParams.delete('schema');
  if (schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new Error(`store: invalid schema name ${JSON.stringify(schema)}`);
  const pool = new pg.Pool({
    connectionString: u.toString(),
    max: 16,
    ...(schema && { options: `-c search_path=${schema}` }),
  });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  if (schema) await sql`create schema if not exists ${sql.id(schema)}`.execute(db);
  return new Store(db, 'postgres', schema);
}

export async function openStore(url: string): Promise<Store> {
  if (url.startsWith('sqlite:')) return openSqlite(url);
  if (!/^postgres(ql)?:\/\//.test(url)) throw new Error(`store ${url.split(':')[0]}: not supported (sqlite://PATH or postgres://…)`);
  const store = await openPostgres(url);
  await store.migrate();
  return store;
}
