// The request log (migration 0005): one row per request answered with an error, refused, or
// retried, for the request inspector. Rows arrive in batches from the request recorder
// (observability/request-recorder.ts) and leave by age (the retention sweep), both in bounded statements.
import type { Kysely } from 'kysely';
import { insertChunks } from './insert-chunks.js';
import type { Database, RequestLogTable } from './tables.js';

export type RequestLogRow = RequestLogTable;

/** What writes the request log: this repo, or the SQLite billing worker's copy of it (worker-billing.ts). */
export interface RequestLogWriter {
  /** Inserts the rows in one transaction; a request id already there is kept as it is. */
  recordRequests(rows: RequestLogRow[]): Promise<void>;
  /** Deletes rows created before `before` (ISO), oldest first, at most `limit` (one statement); returns how many. */
  deleteRequestsBefore(before: string, limit: number): Promise<number>;
}

/** Rows per DELETE statement: small rows, so more than stored responses' 50. */
export const REQUEST_LOG_DELETE_BATCH = 500;

export class RequestLogRepo implements RequestLogWriter {
  constructor(private readonly db: Kysely<Database>) {}

  async recordRequests(rows: RequestLogRow[]): Promise<void> {
    if (rows.length === 0) return;
    await this.db.transaction().execute(async (trx) => {
      for (const chunk of insertChunks(rows)) {
        await trx.insertInto('request_log').values(chunk).onConflict((oc) => oc.column('request_id').doNothing()).execute();
      }
    });
  }

  async find(requestId: string): Promise<RequestLogRow | undefined> {
    return this.db.selectFrom('request_log').selectAll().where('request_id', '=', requestId).executeTakeFirst();
  }

  async deleteRequestsBefore(before: string, limit: number): Promise<number> {
    // One statement: the retention sweeper sizes the batches and yields between them.
    const pick = this.db.selectFrom('request_log').select('request_id').where('created_at', '<', before).orderBy('created_at').limit(limit);
    const r = await this.db.deleteFrom('request_log').where('request_id', 'in', pick).executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}
