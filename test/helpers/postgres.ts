// PostgreSQL for tests: the local server when there is one. On a laptop without it the suites
// skip with a clear reason; CI sets SLUICE_REQUIRE_POSTGRES=1, which turns "unreachable" into a failure.
import pg from 'pg';
import { randomBytes } from 'node:crypto';

export const PG_URL = process.env.SLUICE_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** undefined when PostgreSQL is usable; otherwise the reason to skip. Throws when it is required. */
export async function postgresSkipReason(): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 2_000 });
  try {
    await client.connect();
    await client.query('select 1');
    return undefined;
  } catch (err) {
    const why = `PostgreSQL not reachable at ${PG_URL} (${(err as Error).message})`;
    if (process.env.SLUICE_REQUIRE_POSTGRES === '1') throw new Error(`${why}, and SLUICE_REQUIRE_POSTGRES=1 makes it mandatory`);
    return `${why}: skipping; set SLUICE_REQUIRE_POSTGRES=1 to make this a failure`;
  } finally {
    await client.end().catch(() => {});
  }
}

/** A store URL in a schema of its own, so parallel test files never see each other's rows. */
export function freshPostgresUrl(): string {
  return `${PG_URL}?schema=sluice_t_${randomBytes(6).toString('hex')}`;
}

export async function dropSchemaOf(url: string): Promise<void> {
  const schema = new URL(url).searchParams.get('schema');
  if (!schema) return;
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    await client.query(`drop schema if exists "${schema}" cascade`);
  } finally {
    await client.end();
  }
}
