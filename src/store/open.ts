// Opens the store named by the config's `store` URL and applies migrations.
import { Kysely, SqliteDialect } from 'kysely';
import Sqlite from 'libsql';
import { resolve } from 'node:path';
import type { Database } from './tables.js';
import { Store } from './store.js';

/** `sqlite://./sluice.db` → `./sluice.db`; `sqlite::memory:` → `:memory:`. */
export function sqlitePath(url: string): string {
  const rest = url.replace(/^sqlite:(\/\/)?/, '');
  return rest === ':memory:' ? rest : resolve(rest);
}

export async function openStore(url: string): Promise<Store> {
  if (url.startsWith('sqlite:')) {
    const database = new Sqlite(sqlitePath(url));
    // WAL: readers do not block the writer, and a committed row survives a SIGKILL.
    database.exec('PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;');
    const store = new Store(new Kysely<Database>({ dialect: new SqliteDialect({ database: database as never }) }), 'sqlite');
    await store.migrate();
    return store;
  }
  throw new Error(`store ${url.split(':')[0]}: not supported yet (sqlite://PATH is)`);
}
