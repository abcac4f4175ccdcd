import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { defineStoreSuite } from './helpers/store-suite.js';
import { dropSchemaOf, freshPostgresUrl, PG_URL, postgresSkipReason } from './helpers/postgres.js';
import type { Database } from '../src/store/tables.js';

await defineStoreSuite({
  name: 'PostgreSQL',
  url: async () => {
    const skip = await postgresSkipReason();
    return skip ? { skip } : freshPostgresUrl();
  },
  cleanup: dropSchemaOf,
  // The URL's own schema, as the store uses it (store/open.ts), with no migrations run.
  unmigrated: async (url) => {
    const schema = new URL(url).searchParams.get('schema')!;
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: PG_URL, options: `-c search_path=${schema}` }) }) });
    await sql`create schema if not exists ${sql.id(schema)}`.execute(db);
    return { db, migrationTableSchema: schema };
  },
});
