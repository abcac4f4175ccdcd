// The Redis the Redis-limited runs use: the local server (or SLUICE_BENCH_REDIS_URL). Without one
// those runs are skipped with a line saying so; the rest of the benchmark is unchanged.
import { Redis } from 'ioredis';

export const BENCH_REDIS_URL = process.env.SLUICE_BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/0';

function client(): Redis {
  const r = new Redis(BENCH_REDIS_URL, { lazyConnect: true, connectTimeout: 1_000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  r.on('error', () => {});
  return r;
}

/** undefined when Redis answers; otherwise why not. */
export async function redisUnavailable(): Promise<string | undefined> {
  const r = client();
  try {
    await r.connect();
    await r.ping();
    return undefined;
  } catch (err) {
    return `Redis not reachable at ${BENCH_REDIS_URL} (${(err as Error).message})`;
  } finally {
    r.disconnect();
  }
}

/** Script calls (EVALSHA and EVAL) the Redis server has run so far, from INFO commandstats. */
export async function scriptCalls(): Promise<number> {
  const r = client();
  try {
    await r.connect();
    const info = await r.info('commandstats');
    let n = 0;
    for (const m of info.matchAll(/^cmdstat_(?:evalsha|eval):calls=(\d+)/gm)) n += Number(m[1]);
    return n;
  } finally {
    r.disconnect();
  }
}
