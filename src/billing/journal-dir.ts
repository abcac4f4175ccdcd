import { resolve } from 'node:path';
import type { SluiceConfig } from '../config/schema.js';
import { sqlitePath } from '../store/open.js';

/** Where the ledger journal lives: configured, or beside the SQLite file, or ./sluice-journal. */
export function journalDirFor(config: SluiceConfig): string {
  if (config.ledger.journalDir) return resolve(config.ledger.journalDir);
  if (config.store.startsWith('sqlite:')) {
    const db = sqlitePath(config.store);
    if (db !== ':memory:') return `${db}-journal.d`;
  }
  return resolve('sluice-journal');
}
