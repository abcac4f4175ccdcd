// Opens the store named by the config's `store` URL and applies migrations.
// `sqlite://PATH` (or `sqlite::memory:`), `postgres://user@host:port/db[?schema=NAME]`.
import { Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely';
import Sqlite from 'libsql';
import { resolve } from 'node:path';
import type { Database } from './tables.js';
import { Store } from './store.js';
import { cachePreparedStatements } from './statement-cache.js';

/** `sqlite://./sluice.db` → absolute path; `sqlite::memory:` → `:memory:`. */
export function sqlitePath(url: string): string {
  const rest = url.replace(/^sqlite:(\/\/)?/, '');
  return rest === ':memory:' ? rest : resolve(rest);
}

async function openSqlite(url: string): Promise<Store> {
  const database = cachePreparedStatements(new Sqlite(sqlitePath(url)));
  // WAL: readers do not block the writer; a committed transaction is in the OS's hands at once,
  // so it survives a SIGKILL of the gateway (synchronous=NORMAL trades only power-loss safety).
  database.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;');
  return new Store(new Kysely<Database>({ dialect: new SqliteDialect({ database: database as never }) }), 'sqlite');
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
  let store: Store;
  if (url.startsWith('sqlite:')) store = await openSqlite(url);
  else if (/^postgres(ql)?:\/\//.test(url)) store = await openPostgres(url);
  else throw new Error(`store ${url.split(':')[0]}: not supported (sqlite://PATH or postgres://…)`);
  await store.migrate();
  return store;
}
