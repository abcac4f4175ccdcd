// Opens an SQLite file (or :memory:) the way every Sluice connection to it must be opened, on the
// main thread and in the billing worker alike.
import { Kysely, SqliteDialect } from 'kysely';
import Sqlite from 'libsql';
import type { Database } from './tables.js';
import { cachePreparedStatements } from './statement-cache.js';

export function openSqliteKysely(path: string): Kysely<Database> {
  const database = cachePreparedStatements(new Sqlite(path));
  // WAL: readers do not block the writer; a committed transaction is in the OS's hands at once,
  // so it survives a SIGKILL of the gateway (synchronous=NORMAL trades only power-loss safety).
  // busy_timeout: the main thread and the billing worker each hold a connection and take turns
  // writing; a writer waits for the other's short transaction instead of failing.
  database.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;');
  return new Kysely<Database>({ dialect: new SqliteDialect({ database: database as never }) });
}
