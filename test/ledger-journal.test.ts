// The ledger journal: appends of one loop turn share one write, and a journal is an orphan (to be
// replayed) exactly when the process that wrote it is gone, even when a restarted gateway has the
// same pid (pid 1 in a container).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LedgerJournal } from '../src/billing/ledger-journal.js';
import type { Settlement } from '../src/store/billing-repo.js';

function settlement(id: string): Settlement {
  return {
    reservation: { accountId: 'a', keyId: 'k', period: '2026-11', amountNanos: 0, prepaid: false, accountCapNanos: null, keyCapNanos: null },
    costNanos: 1,
    ledger: { request_id: id, account_id: 'a', key_id: 'k', model: 'm', deployment: null, endpoint: 'chat', status: 200, error_code: null, input_tokens: 1, output_tokens: 1, started_at: '2026-11-22T00:00:00.000Z', duration_ms: 1, first_byte_ms: null },
  };
}

test('appends resolve once written; the lines are on disk when they do', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-journal-'));
  const journal = new LedgerJournal(dir);
  const appended = Promise.all(['r1', 'r2', 'r3'].map((id) => journal.append(settlement(id))));
  const [file] = readdirSync(dir).filter((f) => f.endsWith('.journal'));
  assert.equal(readFileSync(join(dir, file!), 'utf8'), '', 'nothing is written before the end of the turn');
  await appended;
  assert.equal(readFileSync(join(dir, file!), 'utf8').trim().split('\n').length, 3);
  assert.equal(journal.size, 3);
  journal.close();
});

test('a journal of this pid from an earlier boot is an orphan; one of this process is not', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-journal-'));
  const live = new LedgerJournal(dir);
  // What a gateway that had the same pid (a container restart) left behind, and an older format.
  writeFileSync(join(dir, `${process.pid}-0bad00001234-7.journal`), `${JSON.stringify(settlement('earlier-boot'))}\n`);
  writeFileSync(join(dir, '999999999-3.journal'), `${JSON.stringify(settlement('dead-pid'))}\n{"cut short`);
  const { batch, done } = LedgerJournal.orphans(dir);
  assert.deepEqual(batch.map((s) => s.ledger.request_id).sort(), ['dead-pid', 'earlier-boot'], 'the live journal is not replayed; a torn last line is skipped');
  done();
  assert.equal(readdirSync(dir).filter((f) => f.endsWith('.journal')).length, 1, 'only the live journal is left');
  live.close();
});
