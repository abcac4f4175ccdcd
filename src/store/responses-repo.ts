// Stored responses (the Responses API's `store: true`): the Response object as answered and its
// input and output items, owned by one account until they expire. Another account's response, a
// missing one and an expired one look the same to every reader: absent. Expired rows are filtered
// out by every read at once; the retention sweeper (responses-sweeper.ts) deletes them later, in
// bounded batches.
import type { Kysely, SelectQueryBuilder } from 'kysely';
import { insertChunks } from './insert-chunks.js';
import type { Database, ResponseItemsTable } from './tables.js';

export interface StoredResponse {
  /** `resp_` + id. */
  id: string;
  accountId: string;
  model: string;
  previousResponseId: string | null;
  /** ISO 8601 (stored as `toISOString()`, so that timestamps sort as text). */
  createdAt: string;
  /** ISO 8601; invisible from this instant on. */
  expiresAt: string;
  /** The Response object as answered (OpenAI's shape), without secrets. */
  response: Record<string, unknown>;
  /** This turn's input items, each with its own `id` (OpenAI's input_items list shape: message items, function_call, function_call_output), in order. */
  inputItems: Array<Record<string, unknown>>;
  /** Output items (same as response.output), each with its `id`. */
  outputItems: Array<Record<string, unknown>>;
}

const DAY_MS = 86_400_000;

/** When a response created at `createdAtMs` expires, as stored: ISO 8601. */
export function responseExpiry(createdAtMs: number, retentionDays: number): string {
  return new Date(createdAtMs + retentionDays * DAY_MS).toISOString();
}

/**
 * Responses deleted per statement by the account-wide delete and the sweeper: bounded work,
 * nothing read into memory. On SQLite the statement runs on the event loop's thread: 50 responses
 * of 10 one-kilobyte items take ~5-15 ms here.
 */
export const DELETE_BATCH = 50;

/** Between batches: lets requests run (SQLite's statements are synchronous, their awaits only microtasks). */
const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));
/** Item ids per lookup statement (SQLite allows 32766 parameters, PostgreSQL 65535). */
const LOOKUP_CHUNK = 512;

/** Normalizes an ISO timestamp to `toISOString()`'s form, which is what sorts correctly as text. */
function iso(value: string, field: string): string {
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new TypeError(`stored response: ${field} is not a timestamp: ${JSON.stringify(value)}`);
  return new Date(ms).toISOString();
}

/**
 * Pads a list of ids to the next power of two by repeating its last one, so that `in (…)` lists
 * come in few lengths: SQLite's prepared statements are cached by SQL text (statement-cache.ts),
 * and every length is a text of its own.
 */
function padded(ids: string[]): string[] {
  let size = 1;
  while (size < ids.length) size *= 2;
  return ids.length === size ? ids : [...ids, ...new Array<string>(size - ids.length).fill(ids[ids.length - 1]!)];
}

function chunks<T>(list: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let at = 0; at < list.length; at += size) out.push(list.slice(at, at + size));
  return out;
}

export class ResponsesRepo {
  /** `now`: the clock that decides what has expired (tests move it). */
  constructor(private readonly db: Kysely<Database>, private readonly now: () => number = Date.now) {}

  private nowIso(): string {
    return new Date(this.now()).toISOString();
  }

  /** Writes the response and its items in one transaction. Every item needs a string `id`. */
  async save(r: StoredResponse): Promise<void> {
    const createdAt = iso(r.createdAt, 'createdAt');
    const expiresAt = iso(r.expiresAt, 'expiresAt');
    const row = (kind: 'input' | 'output') => (item: Record<string, unknown>, position: number): ResponseItemsTable => {
      if (typeof item.id !== 'string' || item.id === '') throw new TypeError(`stored response ${r.id}: ${kind} item ${position} has no id`);
      return { response_id: r.id, account_id: r.accountId, item_id: item.id, kind, position, item: JSON.stringify(item) };
    };
    const items = [...r.inputItems.map(row('input')), ...r.outputItems.map(row('output'))];
    const body = JSON.stringify(r.response);
    await this.db.transaction().execute(async (trx) => {
      await trx.insertInto('responses').values({
        id: r.id, account_id: r.accountId, model: r.model, previous_response_id: r.previousResponseId, created_at: createdAt, expires_at: expiresAt, body,
      }).execute();
      for (const chunk of insertChunks(items)) await trx.insertInto('response_items').values(chunk).execute();
    });
  }

  /** Undefined when missing, expired, or another account's (callers cannot tell which). */
  async get(accountId: string, id: string): Promise<StoredResponse | undefined> {
    const row = await this.db.selectFrom('responses').selectAll()
      .where('id', '=', id).where('account_id', '=', accountId).where('expires_at', '>', this.nowIso())
      .executeTakeFirst();
    if (!row) return undefined;
    const items = await this.db.selectFrom('response_items').select(['kind', 'item'])
      .where('response_id', '=', id).where('account_id', '=', accountId)
      .orderBy('kind').orderBy('position')
      .execute();
    const of = (kind: 'input' | 'output') => items.filter((i) => i.kind === kind).map((i) => JSON.parse(i.item) as Record<string, unknown>);
    return {
      id: row.id,
      accountId: row.account_id,
      model: row.model,
      previousResponseId: row.previous_response_id,
      createdAt: row.created_at,
      expiresAt: row.expires_at,
      response: JSON.parse(row.body) as Record<string, unknown>,
      inputItems: of('input'),
      outputItems: of('output'),
    };
  }

  /**
   * True when a response of this account was deleted (its items too). An expired one not yet swept
   * is deleted as well but answers false, as `get` would not have found it.
   */
  async delete(accountId: string, id: string): Promise<boolean> {
    const now = this.nowIso();
    // Its items go with it: response_items' foreign key cascades (migration 0004).
    const gone = await this.db.deleteFrom('responses').where('id', '=', id).where('account_id', '=', accountId).returning('expires_at').executeTakeFirst();
    return gone !== undefined && gone.expires_at > now;
  }

  /**
   * Items (input or output) of this account's unexpired responses by item id, for `item_reference`
   * input items. Missing ids are simply absent from the map. An id held by several responses (an
   * item sent again as input) maps to the most recent response's copy.
   */
  async findItems(accountId: string, itemIds: string[]): Promise<Map<string, Record<string, unknown>>> {
    const found = new Map<string, Record<string, unknown>>();
    const now = this.nowIso();
    for (const ids of chunks([...new Set(itemIds)], LOOKUP_CHUNK)) {
      const rows = await this.db.selectFrom('response_items as i')
        .innerJoin('responses as r', 'r.id', 'i.response_id')
        .select(['i.item_id', 'i.item'])
        .where('i.account_id', '=', accountId)
        .where('i.item_id', 'in', padded(ids))
        .where('r.account_id', '=', accountId)
        .where('r.expires_at', '>', now)
        .orderBy('r.created_at', 'desc').orderBy('r.id', 'desc').orderBy('i.kind').orderBy('i.position')
        .execute();
      for (const row of rows) if (!found.has(row.item_id)) found.set(row.item_id, JSON.parse(row.item) as Record<string, unknown>);
    }
    return found;
  }

  /** Deletes every stored response of the account (expired or not); returns how many. */
  async deleteAccount(accountId: string): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await this.deleteBatch(this.db.selectFrom('responses').select('id').where('account_id', '=', accountId).orderBy('id').limit(DELETE_BATCH));
      total += n;
      if (n < DELETE_BATCH) return total;
      await yieldToEventLoop();
    }
  }

  /** Deletes responses whose expiresAt <= now, at most `limit` per call, oldest first; returns how many. */
  async deleteExpired(now: string, limit = 1_000): Promise<number> {
    const before = iso(now, 'now');
    let total = 0;
    while (total < limit) {
      const size = Math.min(DELETE_BATCH, limit - total);
      const n = await this.deleteBatch(this.db.selectFrom('responses').select('id').where('expires_at', '<=', before).orderBy('expires_at').limit(size));
      total += n;
      if (n < size) break;
      await yieldToEventLoop();
    }
    return total;
  }

  /**
   * Deletes the responses the subquery picks (at most one batch) in one statement; their items go
   * with them (the foreign key cascades). Nothing is read into memory.
   */
  private async deleteBatch(pick: SelectQueryBuilder<Database, 'responses', { id: string }>): Promise<number> {
    const r = await this.db.deleteFrom('responses').where('id', 'in', pick).executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}
