// The billing worker: a thread with its own connection to the SQLite file that runs every
// reservation and settlement, and the request log's batches (request-log-repo.ts). SQLite's
// driver is synchronous, so on the main thread each batch would stop every request for its
// duration; here it overlaps with them. Started by WorkerBilling; one message in, one answer out,
// in order.
import { parentPort, workerData } from 'node:worker_threads';
import { BillingRepo } from './billing-repo.js';
import { openSqliteKysely } from './sqlite-database.js';
import { LedgerJournal } from '../billing/ledger-journal.js';
import { RequestLogRepo } from './request-log-repo.js';
import type { BillingCall, BillingReply } from './worker-billing.js';

const db = openSqliteKysely((workerData as { path: string }).path);
const repo = new BillingRepo(db);
const requestLog = new RequestLogRepo(db);
const port = parentPort!;

async function answer(call: BillingCall): Promise<unknown> {
  switch (call.op) {
    case 'reserve':
      return repo.reserve(call.batch);
    case 'settle':
      return repo.settle(call.batch);
    case 'settleJournal':
      return repo.settle(LedgerJournal.parseLines(call.text));
    case 'release':
      return repo.release(call.items);
    case 'leasesOf':
      return repo.leasesOf(call.prefix);
    case 'dropEmptyLeases':
      return repo.dropEmptyLeases(call.holder);
    case 'leased':
      return repo.leased(call.accountId);
    case 'spent':
      return repo.spent(call.scope, call.period);
    case 'recordRequests':
      return requestLog.recordRequests(call.rows);
    case 'deleteRequestsBefore':
      return requestLog.deleteRequestsBefore(call.before, call.limit);
  }
}

port.on('message', (call: BillingCall) => {
  answer(call).then(
    (value) => port.postMessage({ id: call.id, value } satisfies BillingReply),
    (err: Error) => port.postMessage({ id: call.id, error: { message: err.message, code: (err as { code?: string }).code } } satisfies BillingReply),
  );
});
