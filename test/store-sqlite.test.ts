import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { defineStoreSuite } from './helpers/store-suite.js';

await defineStoreSuite({
  name: 'SQLite',
  url: async () => `sqlite://${join(mkdtempSync(join(tmpdir(), 'sluice-store-')), 'store.db')}`,
  cleanup: async (url) => rmSync(dirname(url.replace('sqlite://', '')), { recursive: true, force: true }),
});
