// Redis for tests: the local server when there is one. On a laptop without it the suites skip with
// a clear reason; CI sets SLUICE_REQUIRE_REDIS=1, which turns "unreachable" into a failure.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

export const REDIS_URL = process.env.SLUICE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0';

/** undefined when Redis is usable; otherwise the reason to skip. Throws when it is required. */
export async function redisSkipReason(): Promise<string | undefined> {
  const client = new Redis(REDIS_URL, { lazyConnect: true, connectTimeout: 2_000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.ping();
    return undefined;
  } catch (err) {
    const why = `Redis not reachable at ${REDIS_URL} (${(err as Error).message})`;
    if (process.env.SLUICE_REQUIRE_REDIS === '1') throw new Error(`${why}, and SLUICE_REQUIRE_REDIS=1 makes it mandatory`);
    return `${why}: skipping; set SLUICE_REQUIRE_REDIS=1 to make this a failure`;
  } finally {
    client.disconnect();
  }
}

/** A key prefix of its own, so parallel test files never share a counter. */
export function freshPrefix(): string {
  return `sluice-test:${randomBytes(6).toString('hex')}:`;
}
