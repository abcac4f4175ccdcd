// Versioned schema migrations, applied in order at start by Kysely's Migrator. Never edit a
// released migration: add a new one.
import { sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';

const migrations: Record<string, Migration> = {
  '0001_accounts_keys_ledger': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('accounts')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('status', 'text', (c) => c.notNull().defaultTo('active'))
        .addColumn('verified', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('plan', 'text', (c) => c.notNull().defaultTo('default'))
        .addColumn('credits_nanos', 'bigint')
        .addColumn('monthly_cap_nanos', 'bigint')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('api_keys')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id'))
        .addColumn('key_hash', 'text', (c) => c.notNull().unique())
        .addColumn('name', 'text')
        .addColumn('models', 'text')
        .addColumn('priority', 'text', (c) => c.notNull().defaultTo('standard'))
        .addColumn('spend_cap_nanos', 'bigint')
        .addColumn('expires_at', 'text')
        .addColumn('revoked_at', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('last_used_at', 'text')
        .execute();
      await db.schema.createIndex('api_keys_account').on('api_keys').column('account_id').execute();
      await db.schema
        .createTable('spend')
        .addColumn('scope', 'text', (c) => c.notNull())
        .addColumn('period', 'text', (c) => c.notNull())
        .addColumn('spent_nanos', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('reserved_nanos', 'bigint', (c) => c.notNull().defaultTo(0))
        .addPrimaryKeyConstraint('spend_pk', ['scope', 'period'])
        .execute();
      await db.schema
        .createTable('ledger')
        .addColumn('request_id', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('key_id', 'text', (c) => c.notNull())
        .addColumn('model', 'text', (c) => c.notNull())
        .addColumn('deployment', 'text')
        .addColumn('endpoint', 'text', (c) => c.notNull())
        .addColumn('status', 'integer', (c) => c.notNull())
        .addColumn('error_code', 'text')
        .addColumn('input_tokens', 'integer', (c) => c.notNull())
        .addColumn('output_tokens', 'integer', (c) => c.notNull())
        .addColumn('cost_nanos', 'bigint', (c) => c.notNull())
        .addColumn('started_at', 'text', (c) => c.notNull())
        .addColumn('duration_ms', 'double precision', (c) => c.notNull())
        .addColumn('first_byte_ms', 'double precision')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('ledger_account_time').on('ledger').columns(['account_id', 'created_at']).execute();
      await db.schema.createIndex('ledger_key_time').on('ledger').columns(['key_id', 'created_at']).execute();
    },
  },
  '0002_credit_leases': {
    // Credit a gateway process holds for requests it admits without a database round trip (see
    // billing/credit-leases.ts). Rows name their holder so a restarted gateway can give back
    // what a crashed one held.
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('credit_leases')
        .addColumn('holder', 'text', (c) => c.notNull())
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('key_id', 'text', (c) => c.notNull())
        .addColumn('period', 'text', (c) => c.notNull())
        .addColumn('prepaid', 'integer', (c) => c.notNull())
        .addColumn('account_capped', 'integer', (c) => c.notNull())
        .addColumn('key_capped', 'integer', (c) => c.notNull())
        .addColumn('outstanding_nanos', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('credit_leases_pk', ['holder', 'account_id', 'key_id', 'period', 'prepaid', 'account_capped', 'key_capped'])
        .execute();
    },
  },
  '0003_rate_limits': {
    // Requests and tokens per minute for an account or a key; null: no limit. One column per
    // statement: SQLite's ALTER TABLE adds only one at a time.
    async up(db: Kysely<unknown>) {
      for (const table of ['accounts', 'api_keys']) {
        await db.schema.alterTable(table).addColumn('rpm_limit', 'integer').execute();
        await db.schema.alterTable(table).addColumn('tpm_limit', 'integer').execute();
      }
    },
  },
  '0004_responses': {
    // Stored responses of the Responses API and their input and output items. JSON as text on both
    // backends. Items name their response (deleted with it) and repeat its account, so an
    // `item_reference` is found through one index without reading other accounts' rows.
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('responses')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('model', 'text', (c) => c.notNull())
        .addColumn('previous_response_id', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .addColumn('body', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('responses_account').on('responses').column('account_id').execute();
      await db.schema.createIndex('responses_expires').on('responses').column('expires_at').execute();
      await db.schema
        .createTable('response_items')
        .addColumn('response_id', 'text', (c) => c.notNull().references('responses.id').onDelete('cascade'))
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('item_id', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('input', 'output')`))
        .addColumn('position', 'integer', (c) => c.notNull())
        .addColumn('item', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('response_items_pk', ['response_id', 'kind', 'position'])
        .execute();
      await db.schema.createIndex('response_items_account_item').on('response_items').columns(['account_id', 'item_id']).execute();
    },
  },
  '0005_request_log': {
    // What the gateway answered to requests that failed, were refused or needed retries (the ledger
    // holds only requests that produced output), for the request inspector (GET
    // /admin/requests/{id}). Written in batches off the request path (server/request-recorder.ts);
    // kept `requestLog.retentionDays`, swept by created_at.
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('request_log')
        .addColumn('request_id', 'text', (c) => c.primaryKey())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('account_id', 'text')
        .addColumn('key_id', 'text')
        .addColumn('model', 'text')
        .addColumn('requested_model', 'text')
        .addColumn('deployment', 'text')
        .addColumn('endpoint', 'text')
        .addColumn('method', 'text', (c) => c.notNull())
        .addColumn('path', 'text', (c) => c.notNull())
        .addColumn('status', 'integer', (c) => c.notNull())
        .addColumn('error_code', 'text')
        .addColumn('message', 'text')
        .addColumn('attempts', 'integer', (c) => c.notNull())
        .addColumn('started_at', 'text', (c) => c.notNull())
        .addColumn('duration_ms', 'double precision', (c) => c.notNull())
        .addColumn('first_byte_ms', 'double precision')
        .execute();
      await db.schema.createIndex('request_log_created').on('request_log').column('created_at').execute();
    },
  },
};

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => migrations,
};
