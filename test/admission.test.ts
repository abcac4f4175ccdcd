// Admission over real HTTP against a simulator deployment with a tiny capacity: one request in
// service, a queue by priority class in front, sheds with retry advice, the priority header,
// clients that leave mid-queue, and gauges that return to zero.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseConfigDocument, ConfigError } from '../src/config/load.js';
import { http, startTestGateway, type TestGateway } from './helpers/gateway.js';

const KEYS = {
  critical: 'sk-test-admission-critical-01',
  standard: 'sk-test-admission-standard-01',
  batch: 'sk-test-admission-batch-00001',
};

const admission = {
  maxConcurrency: 1,
  maxQueue: 3,
  queue: { critical: { maxLength: 3, maxWaitMs: 5_000 }, standard: { maxLength: 2, maxWaitMs: 5_000 }, batch: { maxLength: 2, maxWaitMs: 2_000 } },
};

let gw: TestGateway;
before(async () => {
  gw = await startTestGateway({
    accounts: [{ id: 'adm', credits: 10, keys: Object.entries(KEYS).map(([priority, key]) => ({ key, priority, limits: { tpm: 1_000_000 } })) }],
    models: [{
      id: 'one-slot',
      pricing: { inputPerMTok: 1, outputPerMTok: 1 },
      // A request holding the slot with x-sluice-fault: slow-first-token ends with a 504 after 3 s.
      timeouts: { firstTokenMs: 3_000, totalMs: 3_000 },
      deployments: [{ id: 'one-slot-sim', engine: 'sim', faultHeader: true, admission, sim: { ttftMs: 100, itlMs: 1 } }],
    }, {
      id: 'adaptive',
      deployments: [{ id: 'adaptive-sim', engine: 'sim', admission: { maxConcurrency: { adaptive: { min: 2, max: 8 } } }, sim: { ttftMs: 5, itlMs: 1 } }],
    }],
  });
});
after(() => gw.close());

const body = JSON.stringify({ model: 'one-slot', messages: [{ role: 'user', content: 'hi' }], max_tokens: 3 });
const post = (key: string, headers: Record<string, string> = {}, signal?: AbortSignal) => http(`${gw.url}/v1/chat/completions`, { method: 'POST', key, body, headers, signal });
/** Holds the only slot for 3 s, then ends with a 504 (and is charged nothing). */
const hold = () => post(KEYS.standard, { 'x-sluice-fault': 'slow-first-token' });

async function gauges(): Promise<{ queued: number; running: number }> {
  const text = await (await fetch(`${gw.url}/metrics`)).text();
  let queued = 0;
  for (const m of text.matchAll(/^sluice_admission_queue_length\{deployment="one-slot-sim",priority="\w+"\} (\d+)/gm)) queued += Number(m[1]);
  const running = Number(/^sluice_admission_in_service\{deployment="one-slot-sim"\} (\d+)/m.exec(text)?.[1] ?? NaN);
  return { queued, running };
}

/** Polls the admission gauges until `ok` holds (at most 2 s). */
async function untilGauges(ok: (g: { queued: number; running: number }) => boolean): Promise<void> {
  const deadline = performance.now() + 2_000;
  for (;;) {
    const g = await gauges();
    if (ok(g)) return;
    if (performance.now() > deadline) throw new Error(`admission gauges never got there: ${JSON.stringify(g)}`);
    await sleep(5);
  }
}

test('queued requests are served critical first, then standard, then batch', async () => {
  const finished: string[] = [];
  const track = (name: string, key: string) => post(key).then((r) => {
    assert.equal(r.status, 200, r.text);
    finished.push(name);
  });
  const first = track('first', KEYS.standard);
  await sleep(30); // the first holds the only slot
  const rest = [track('batch', KEYS.batch), track('standard', KEYS.standard)];
  await sleep(10);
  rest.push(track('critical', KEYS.critical));
  await Promise.all([first, ...rest]);
  assert.deepEqual(finished, ['first', 'critical', 'standard', 'batch']);
});

test('a full class is shed with server_overloaded, a long wait with queue_timeout, each with advice', async () => {
  const holder = hold();
  await sleep(30);
  const waiting = [post(KEYS.batch), post(KEYS.batch)];
  await sleep(10);
  const full = await post(KEYS.batch);
  assert.equal(full.status, 503);
  assert.equal(full.body.error.code, 'server_overloaded');
  assert.ok(Number(full.headers.get('retry-after-ms')) > 0);
  // The batch waiters wait 2 s at most; the holder keeps the slot for 3 s.
  const timedOut = await Promise.all(waiting);
  assert.deepEqual(timedOut.map((r) => r.body?.error?.code), ['queue_timeout', 'queue_timeout']);
  assert.ok(timedOut.every((r) => Number(r.headers.get('retry-after-ms')) > 0));
  assert.equal((await holder).body.error.code, 'generation_timeout');
});

test('x-sluice-priority may lower the class, never raise it; an unknown value is a 400 naming the header', async () => {
  const bad = await post(KEYS.standard, { 'x-sluice-priority': 'urgent' });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error.code, 'invalid_parameter');
  assert.equal(bad.body.error.param, 'x-sluice-priority');
  const finished: string[] = [];
  // The slot is held (~0.8 s of tokens, inside the batch queue's 2 s wait) until all three are
  // queued, each queued before the next is sent (fixed sleeps let the second batch request
  // overtake the first on a loaded machine).
  const holder = http(`${gw.url}/v1/chat/completions`, { method: 'POST', key: KEYS.standard, body: JSON.stringify({ ...JSON.parse(body), max_tokens: 700 }) });
  await untilGauges((g) => g.running === 1);
  const lowered = post(KEYS.critical, { 'x-sluice-priority': 'batch' }).then(() => finished.push('critical-as-batch'));
  await untilGauges((g) => g.queued === 1); // in the batch queue first
  const raised = post(KEYS.batch, { 'x-sluice-priority': 'critical' }).then(() => finished.push('batch-asking-critical'));
  await untilGauges((g) => g.queued === 2);
  const standard = post(KEYS.standard).then(() => finished.push('standard'));
  await Promise.all([holder, lowered, raised, standard]);
  assert.deepEqual(finished, ['standard', 'critical-as-batch', 'batch-asking-critical']);
});

test('a shed request is charged nothing and gets its rate-limit tokens back; clients that leave the queue hold nothing', async () => {
  await gw.settled();
  const before = (await gw.store.accounts.get('adm'))!.creditsNanos;
  const holder = hold();
  await sleep(30);
  const leaving = [new AbortController(), new AbortController()];
  const gone = leaving.map((c) => post(KEYS.standard, {}, c.signal).catch(() => 'aborted'));
  await sleep(20);
  assert.equal((await gauges()).queued, 2);
  for (const c of leaving) c.abort();
  await Promise.all(gone);
  await sleep(20);
  assert.deepEqual(await gauges(), { queued: 0, running: 1 }, 'the leavers are gone from the queue at once');
  // Two wait and time out (the holder keeps the slot), the third finds the batch class full.
  const shed = await Promise.all([post(KEYS.batch), post(KEYS.batch), post(KEYS.batch)]);
  assert.deepEqual(shed.map((r) => r.status), [503, 503, 503]);
  const remaining = Math.min(...shed.map((r) => Number(r.headers.get('x-ratelimit-remaining-tokens'))));
  await holder;
  await sleep(20);
  const after = await post(KEYS.batch);
  assert.equal(after.status, 200);
  assert.ok(Number(after.headers.get('x-ratelimit-remaining-tokens')) >= remaining - 20, 'the shed requests gave their tokens back');
  await gw.settled();
  const spent = before! - (await gw.store.accounts.get('adm'))!.creditsNanos!;
  // Only the last request was served ($1 per million tokens: 1,000 nanos a token); the holder's
  // 504 and the sheds cost nothing.
  assert.equal(spent, after.body.usage.total_tokens * 1_000);
  assert.deepEqual(await gauges(), { queued: 0, running: 0 }, 'every gauge back to zero');
});

test('an adaptive limit admits within its bounds and publishes where it stands', async () => {
  const adaptiveBody = JSON.stringify({ model: 'adaptive', messages: [{ role: 'user', content: 'hi' }], max_tokens: 3 });
  const answers = await Promise.all(Array.from({ length: 30 }, () => http(`${gw.url}/v1/chat/completions`, { method: 'POST', key: KEYS.standard, body: adaptiveBody })));
  assert.deepEqual([...new Set(answers.map((r) => r.status))], [200], 'queued, not refused');
  const text = await (await fetch(`${gw.url}/metrics`)).text();
  const limit = Number(/^sluice_admission_limit\{deployment="adaptive-sim"\} (\d+)/m.exec(text)?.[1]);
  assert.ok(limit >= 2 && limit <= 8, `limit ${limit}`);
  assert.match(text, /^sluice_admission_in_service\{deployment="adaptive-sim"\} 0$/m);
});

test('bad admission settings are refused at start with the field path', () => {
  const problems = (admission: unknown) => {
    try {
      parseConfigDocument({ models: [{ id: 'm', deployments: [{ id: 'd', engine: 'sim', admission }] }] }, 'x');
      return [];
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      return err.problems;
    }
  };
  assert.match(problems({ maxConcurrency: 0 })[0]!, /^models\[0\]\.deployments\[0\]\.admission\.maxConcurrency/);
  assert.match(problems({ maxConcurrency: -4 })[0]!, /admission\.maxConcurrency/);
  assert.match(problems({ maxConcurrency: { adaptive: { min: 8, max: 4 } } })[0]!, /admission\.maxConcurrency\.adaptive\.min: min must not be above max/);
  assert.match(problems({ maxConcurrency: 4, queue: { batch: { maxLength: 0 } } })[0]!, /admission\.queue\.batch\.maxLength/);
  assert.match(problems({ maxConcurrency: 4, maxQueue: 0 })[0]!, /admission\.maxQueue/);
  assert.match(problems({ maxConcurrency: 4, reserveCritical: 4 })[0]!, /admission\.reserveCritical: must be below the concurrency limit \(4\)/);
  assert.match(problems({ maxConcurrency: { adaptive: { min: 2, max: 8 } }, reserveCritical: 2 })[0]!, /admission\.reserveCritical/);
  assert.match(problems({ maxConcurrency: 4, reserveCritical: -1 })[0]!, /admission\.reserveCritical/);
  assert.deepEqual(problems({ maxConcurrency: 4 }), [], 'the classes have defaults');
});
