// Rate limits shared through a real Redis: the script decides as the in-memory algorithm does, on
// prefixed keys that expire; two gateway processes on one Redis enforce one limit; and a TCP proxy
// cut between gateway and Redis mid-run shows failClosed (503) and failOpen (per-replica memory
// limits, logged once), each recovering by itself when Redis returns.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { parseConfigDocument } from '../src/config/load.js';
import { RedisLimiter } from '../src/limits/redis-limiter.js';
import { createLogger } from '../src/observability/logger.js';
import { createMetrics } from '../src/observability/metrics.js';
import { startGateway } from '../src/server/gateway.js';
import { openStore } from '../src/store/open.js';
import { http, simModel, startTestGateway } from './helpers/gateway.js';
import { spawnGateway, stopGateway, writeConfig } from './helpers/process-gateway.js';
import { dropSchemaOf, freshPostgresUrl, postgresSkipReason } from './helpers/postgres.js';
import { freshPrefix, REDIS_URL, redisSkipReason } from './helpers/redis.js';
import { startTcpProxy, type TcpProxy } from './helpers/tcp-proxy.js';

const skip = await redisSkipReason();
if (skip) console.log(`# ${skip}`);
const noPostgres = skip ? undefined : await postgresSkipReason();
if (noPostgres) console.log(`# ${noPostgres}`);

const redisPort = Number(new URL(REDIS_URL).port || 6379);
const redisHost = new URL(REDIS_URL).hostname;
const KEY = 'sk-test-redis-limited-000001';
const chat = JSON.stringify({ model: 'test-chat', messages: [{ role: 'user', content: 'hi' }], max_tokens: 3 });

function limitsConfig(store: string, extra: Record<string, unknown> = {}) {
  return { store, onStoreDown: 'failClosed', keyPrefix: freshPrefix(), timeoutMs: 50, ...extra };
}

describe('rate limits on Redis', { skip }, () => {
  let redis: Redis;
  before(() => {
    redis = new Redis(REDIS_URL);
  });
  after(() => redis.disconnect());

  test('the Lua script decides as the in-memory algorithm, on prefixed keys that expire', async () => {
    const config = parseConfigDocument({ limits: limitsConfig(REDIS_URL) }, 'test').limits;
    const limiter = new RedisLimiter(config, createLogger('silent'), createMetrics({ defaultMetrics: false }));
    await limiter.connect();
    try {
      const rpm = { key: '{acct}:k:one:r', kind: 'requests' as const, scope: 'key' as const, perMinute: 5, cost: 1 };
      for (let i = 0; i < 5; i++) {
        const r = await limiter.take([rpm]);
        assert.equal(r.allowed, true, `request ${i + 1}`);
        assert.equal(r.verdicts[0]!.remaining, 4 - i);
      }
      const refused = await limiter.take([rpm]);
      assert.equal(refused.allowed, false);
      assert.ok(refused.verdicts[0]!.retryAfterMs > 11_000 && refused.verdicts[0]!.retryAfterMs <= 12_000, `wait ${refused.verdicts[0]!.retryAfterMs}`);
      const ttl = await redis.pttl(`${config.keyPrefix}{acct}:k:one:r`);
      assert.ok(ttl > 59_000 && ttl <= 61_000, `expires once full again: pttl ${ttl}`);

      // Several limits at once: one refusal spends none; a token reservation corrected to usage.
      const tpm = { key: '{acct}:k:one:t', kind: 'tokens' as const, scope: 'key' as const, perMinute: 1000, cost: 900 };
      const both = await limiter.take([tpm, rpm]);
      assert.equal(both.allowed, false);
      assert.equal(both.verdicts[0]!.allowed, true);
      assert.equal(both.verdicts[0]!.remaining, 1000, 'the tokens were not spent');
      assert.equal((await limiter.take([tpm])).allowed, true);
      assert.equal((await limiter.take([{ ...tpm, cost: 200 }])).allowed, false);
      limiter.correct([tpm], -800, false); // it used 100 of its 900
      await sleep(100); // corrections go out together, within 20 ms
      const after = await limiter.take([{ ...tpm, cost: 200 }]);
      assert.equal(after.allowed, true, 'what was not used came back');
      // 700 left, plus one token refilled every 60 ms since the 900 were taken.
      assert.ok(after.verdicts[0]!.remaining >= 699 && after.verdicts[0]!.remaining <= 720, `remaining ${after.verdicts[0]!.remaining}`);
      const never = await limiter.take([{ ...tpm, cost: 1001 }]);
      assert.equal(never.verdicts[0]!.neverFits, true);

      // Checks asked for together go out in one script call, each decided in turn.
      const burst = { ...rpm, key: '{acct}:k:burst:r', perMinute: 5 };
      const client = (limiter as unknown as { redis: { sluiceTake: (...a: unknown[]) => Promise<number[]> } }).redis;
      const send = client.sluiceTake.bind(client);
      let calls = 0;
      client.sluiceTake = (...a: unknown[]) => {
        calls++;
        return send(...a);
      };
      const together = await Promise.all(Array.from({ length: 7 }, () => limiter.take([burst])));
      assert.deepEqual(together.map((r) => r.allowed), [true, true, true, true, true, false, false]);
      assert.deepEqual(together.slice(0, 5).map((r) => r.verdicts[0]!.remaining), [4, 3, 2, 1, 0]);
      assert.equal(calls, 1, 'seven checks, one round trip');
    } finally {
      await limiter.close();
    }
  });

  // Replicas share their database as well as Redis: that is what gives a key one id everywhere.
  test('a check that timed out but ran on Redis after all gives back what it spent', async () => {
    const proxy = await startTcpProxy(redisHost, redisPort);
    const config = parseConfigDocument({ limits: limitsConfig(`redis://127.0.0.1:${proxy.port}/0`, { timeoutMs: 20 }) }, 'test').limits;
    const limiter = new RedisLimiter(config, createLogger('silent'), createMetrics({ defaultMetrics: false }));
    await limiter.connect();
    try {
      const rpm = { key: '{acct}:k:late:r', kind: 'requests' as const, scope: 'key' as const, perMinute: 3, cost: 1 };
      proxy.lag(150);
      await assert.rejects(limiter.take([rpm]), (err: unknown) => (err as { code?: string }).code === 'dependency_unavailable');
      await sleep(400); // the late answer arrives, and its give-back goes out
      proxy.lag(0);
      const after = [];
      for (let i = 0; i < 4; i++) after.push((await limiter.take([rpm])).allowed);
      assert.deepEqual(after, [true, true, true, false], 'the refused request spent nothing');
    } finally {
      await limiter.close();
      await proxy.close();
    }
  });

  test('two gateway processes on one Redis enforce one limit', { skip: noPostgres }, async () => {
    const store = freshPostgresUrl();
    const doc = { store, limits: limitsConfig(REDIS_URL), models: [simModel('test-chat')], accounts: [{ id: 'shared', keys: [{ key: KEY, limits: { rpm: 30 } }] }] };
    const a = writeConfig(doc);
    const b = writeConfig(doc);
    // One after the other: the second finds the declared account and key the first created.
    const ga = await spawnGateway(a.file, a.dir);
    const gb = await spawnGateway(b.file, b.dir);
    try {
      const started = performance.now();
      // 40 requests to each, 8 at a time: per-replica limits would admit 60.
      const admitted = { a: 0, b: 0 };
      await Promise.all([['a', ga.url], ['b', gb.url]].map(async ([name, url]) => {
        for (let round = 0; round < 5; round++) {
          const results = await Promise.all(Array.from({ length: 8 }, () => http(`${url}/v1/chat/completions`, { method: 'POST', key: KEY, body: chat })));
          for (const r of results) {
            assert.ok(r.status === 200 || r.body?.error?.code === 'rate_limit_requests', `status ${r.status}: ${r.text.slice(0, 200)}`);
            if (r.status === 200) admitted[name as 'a' | 'b']++;
          }
        }
      }));
      const elapsed = performance.now() - started;
      const total = admitted.a + admitted.b;
      // The stated burst is the whole limit; one more comes back every 2 s.
      const allowed = 30 + Math.floor(elapsed / 2000) + 1;
      assert.ok(total >= 30 && total <= allowed, `admitted ${total} (a ${admitted.a}, b ${admitted.b}) in ${elapsed.toFixed(0)} ms; at most ${allowed}`);
      assert.ok(admitted.a > 0 && admitted.b > 0, 'both gateways served part of it');
    } finally {
      await Promise.all([stopGateway(ga), stopGateway(gb)]);
      await dropSchemaOf(store);
    }
  });

  describe('Redis cut mid-run', () => {
    let proxy: TcpProxy;
    before(async () => {
      proxy = await startTcpProxy(redisHost, redisPort);
    });
    after(() => proxy.close());

    async function waitFor(what: string, check: () => Promise<boolean>): Promise<void> {
      const deadline = Date.now() + 10_000;
      while (!(await check())) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await sleep(100);
      }
    }

    test('failClosed: 503 dependency_unavailable while it is down or hung, then limits again when it returns', async () => {
      const gw = await startTestGateway({
        limits: limitsConfig(`redis://127.0.0.1:${proxy.port}/0`),
        accounts: [{ id: 'closed', keys: [{ key: KEY, limits: { rpm: 1000 } }] }],
      });
      const post = () => http(`${gw.url}/v1/chat/completions`, { method: 'POST', key: KEY, body: chat });
      try {
        assert.equal((await post()).status, 200);
        proxy.down();
        const refused = await post();
        assert.equal(refused.status, 503);
        assert.equal(refused.body.error.code, 'dependency_unavailable');
        assert.equal(refused.headers.get('retry-after'), '1');
        assert.equal((await http(`${gw.url}/v1/chat/completions`, { method: 'POST', key: gw.key, body: chat })).status, 200, 'keys under no limit never ask Redis');
        proxy.up();
        await waitFor('recovery', async () => (await post()).status === 200);

        proxy.blackhole(); // connections accepted, nothing answered: a hung Redis
        const started = performance.now();
        const hung = await post();
        const waited = performance.now() - started;
        assert.equal(hung.body?.error?.code, 'dependency_unavailable');
        assert.ok(waited < 1_000, `a bounded wait, not a hang: ${waited.toFixed(0)} ms`);
        proxy.up();
        await waitFor('recovery from the hang', async () => (await post()).status === 200);

        // The open connection goes silent: checks time out, and after a second of nothing but
        // timeouts the gateway drops the connection and opens a new one by itself.
        const connections = proxy.accepted();
        proxy.freeze();
        const silent = Date.now();
        while (Date.now() - silent < 1_500) assert.equal((await post()).body?.error?.code, 'dependency_unavailable');
        assert.ok(proxy.accepted() > connections, 'the silent connection was replaced');
        proxy.up();
        await waitFor('recovery from the silent connection', async () => (await post()).status === 200);
        const metrics = await (await fetch(`${gw.url}/metrics`)).text();
        assert.match(metrics, /sluice_limit_store_errors_total\{op="take",reason="[a-z]+"\} [1-9]/);
      } finally {
        proxy.up();
        await gw.close();
      }
    });

    test('failOpen: per-replica memory limits while it is down, logged once, shared again when it returns', async () => {
      const lines: string[] = [];
      const sink = new Writable({
        write(chunk, _enc, done) {
          lines.push(...String(chunk).split('\n').filter(Boolean));
          done();
        },
      });
      const gw = await startTestGateway({
        limits: limitsConfig(`redis://127.0.0.1:${proxy.port}/0`, { onStoreDown: 'failOpen' }),
        accounts: [{ id: 'open', keys: [{ key: KEY, limits: { rpm: 3 } }] }],
      }, { logger: createLogger('info', sink) });
      const post = () => http(`${gw.url}/v1/chat/completions`, { method: 'POST', key: KEY, body: chat });
      try {
        assert.equal((await post()).status, 200, 'one spent on Redis');
        proxy.down();
        // Memory starts full: three more pass on this replica, then its own limit refuses.
        const during = [];
        for (let i = 0; i < 5; i++) during.push((await post()).status);
        assert.deepEqual(during, [200, 200, 200, 429, 429]);
        const downLines = lines.filter((l) => l.includes('rate-limit store down'));
        assert.equal(downLines.length, 1, 'logged once per outage');
        const metrics = await (await fetch(`${gw.url}/metrics`)).text();
        assert.match(metrics, /sluice_limit_fail_open_total 5/);
        proxy.up();
        // Back on Redis, where one of three was spent before the cut: two more, then refused.
        await waitFor('recovery', async () => {
          await post();
          return lines.some((l) => l.includes('answers again'));
        });
        const back = [];
        for (let i = 0; i < 3; i++) back.push((await post()).status);
        assert.deepEqual(back, [200, 429, 429], 'limits are shared again: the third of three a minute, then refused');
      } finally {
        proxy.up();
        await gw.close();
      }
    });
  });

  test('at start, a Redis that does not answer fails the start with failClosed and warns with failOpen', async () => {
    const proxy = await startTcpProxy(redisHost, redisPort);
    proxy.down();
    const doc = (onStoreDown: string) => parseConfigDocument({
      store: 'sqlite://:memory:', logLevel: 'silent', server: { port: 0 },
      limits: limitsConfig(`redis://127.0.0.1:${proxy.port}/0`, { onStoreDown }),
    }, 'test');
    const store = await openStore('sqlite://:memory:');
    try {
      await assert.rejects(startGateway({ config: doc('failClosed'), store, logger: createLogger('silent') }), /rate-limit store redis:\/\/127\.0\.0\.1:\d+\/0 does not answer.*failClosed/);
      const lines: string[] = [];
      const sink = new Writable({ write(c, _e, done) { lines.push(String(c)); done(); } });
      const gw = await startGateway({ config: doc('failOpen'), store, logger: createLogger('warn', sink) });
      await gw.close();
      assert.ok(lines.some((l) => l.includes('does not answer') && l.includes('failOpen')), lines.join(''));
    } finally {
      await store.close();
      await proxy.close();
    }
  });
});
