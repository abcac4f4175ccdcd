// Versioned schema migrations, applied in order at start by Kysely's Migrator. Never edit a
// released migration: add a new one.
import { type Kysely, type Migration, type MigrationProvider } from 'kysely';

const migrations: Record<string, Migration> = {
  '0001_accounts_and_keys': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('accounts')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('status', 'text', (c) => c.notNull().defaultTo('active'))
        .addColumn('verified', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('plan', 'text', (c) => c.notNull().defaultTo('default'))
        .addColumn('credits', 'double precision')
        .addColumn('monthly_spend_cap', 'double precision')
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
        .addColumn('spend_cap', 'double precision')
        .addColumn('expires_at', 'text')
        .addColumn('revoked_at', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('last_used_at', 'text')
        .execute();
      await db.schema.createIndex('api_keys_account').on('api_keys').column('account_id').execute();
    },
  },
};

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => migrations,
};
