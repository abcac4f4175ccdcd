// The ledger journal: appends of one loop turn share one write, and a journal is an orphan (to be
// replayed) exactly when the process that wrote it is gone, even when a restarted gateway has the
// same pid (pid 1 in a container).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

test('a settlement survives its journal line, and lines of the older object form still read', () => {
  const s = { ...settlement('round-trip'), reservation: { ...settlement('x').reservation, amountNanos: 7, prepaid: true, accountCapNanos: 5, lease: 'i:1:b' } };
  const dir = mkdtempSync(join(tmpdir(), 'sluice-journal-'));
  writeFileSync(join(dir, '999999998-1.journal'), `${JSON.stringify(settlement('object-form'))}\n`);
  const journal = new LedgerJournal(dir);
  return journal.append(s).then(() => {
    const { batch, text, done } = journal.rotate();
    assert.deepEqual(LedgerJournal.parseLines(text), [s], 'the handed-over text decodes to the settlement');
    assert.deepEqual(batch, [s]);
    done();
    assert.deepEqual(LedgerJournal.orphans(dir).batch.map((x) => x.ledger.request_id), ['object-form']);
    journal.close();
    rmSync(dir, { recursive: true, force: true });
  });
});

test('a journal file is written for about a second, and deleted once retired and committed', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-journal-'));
  const files = () => readdirSync(dir).filter((f) => f.endsWith('.journal')).sort();
  const journal = new LedgerJournal(dir);
  await journal.append(settlement('a1'));
  const first = journal.rotate();
  await journal.append(settlement('a2'));
  const second = journal.rotate();
  assert.equal(files().length, 1, 'hand-overs within a second share one file');
  first.done();
  second.done();
  assert.equal(files().length, 1, 'the file being written stays, committed rows and all');
  await new Promise((r) => setTimeout(r, 1_050));
  await journal.append(settlement('a3'));
  const third = journal.rotate(); // the file is a second old: the next rows go to a new one
  await journal.append(settlement('a4'));
  assert.equal(files().length, 2, 'the retired file waits for its last batch to commit');
  third.done();
  assert.equal(files().length, 1, 'and goes once it has');
  assert.deepEqual(LedgerJournal.parseLines(readFileSync(join(dir, files()[0]!), 'utf8')).map((s) => s.ledger.request_id), ['a4']);
  const last = journal.rotate();
  last.done();
  journal.close();
  assert.deepEqual(files(), [], 'close removes a fully committed journal');
  await assert.rejects(journal.append(settlement('late')), /closed/, 'a settlement after close fails instead of vanishing');
  rmSync(dir, { recursive: true, force: true });
});
