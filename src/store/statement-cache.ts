// libsql prepares a statement in ~15-30 µs, more than running it; Kysely asks for a fresh one on
// every query. The hot queries are few and fixed, so prepared statements are kept by SQL text.
// Safe because Kysely's SQLite driver runs each statement to completion before the next (no
// interleaved iterators), and nothing toggles raw or pluck mode on them.
import { LRUCache } from 'lru-cache';

interface Preparer {
  prepare(sql: string): unknown;
}

export function cachePreparedStatements<D extends Preparer>(db: D, max = 256): D {
  const cache = new LRUCache<string, object>({ max });
  const prepare = db.prepare.bind(db);
  db.prepare = (sql: string) => {
    let stmt = cache.get(sql);
    if (!stmt) {
      stmt = prepare(sql) as object;
      cache.set(sql, stmt);
    }
    return stmt;
  };
  return db;
}
