import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { defineStoreSuite } from './helpers/store-suite.js';
import { sqlitePath } from '../src/store/open.js';
import { openSqliteKysely } from '../src/store/sqlite-database.js';

await defineStoreSuite({
  name: 'SQLite',
  url: async () => `sqlite://${join(mkdtempSync(join(tmpdir(), 'sluice-store-')), 'store.db')}`,
  cleanup: async (url) => rmSync(dirname(url.replace('sqlite://', '')), { recursive: true, force: true }),
  unmigrated: async (url) => ({ db: openSqliteKysely(sqlitePath(url)) }),
});
