// The ledger never loses a completed request: SIGKILL under load, then every response the client
// received complete has its row. SIGTERM drains: no new connections, in-flight streams finish,
// rows are flushed, exit 0.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { openStore } from '../src/store/open.js';
import { usdToNanos } from '../src/store/money.js';
import { spawnGateway, writeConfig } from './helpers/process-gateway.js';

const KEY = 'durability-key-0123456789abcdef';

function config(sim: Record<string, unknown>) {
  return writeConfig({
    accounts: [{ id: 'acme', credits: 1_000_000, keys: [{ key: KEY }] }],
    models: [{ id: 'm', pricing: { inputPerMTok: 1, outputPerMTok: 2 }, deployments: [{ id: 'sim', engine: 'sim', sim: { ttftMs: 1, itlMs: 1, maxNumSeqs: 64, ...sim } }] }],
  });
}

async function request(url: string, stream: boolean, onHeaders?: () => void): Promise<string | undefined> {
  const res = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'count me' }], max_tokens: 4, stream }),
  });
  onHeaders?.();
  const text = await res.text(); // throws if the connection dies mid-body: not complete
  const complete = res.status === 200 && (stream ? text.endsWith('data: [DONE]\n\n') : JSON.parse(text).object === 'chat.completion');
  return complete ? res.headers.get('x-request-id') ?? undefined : undefined;
}

test('SIGKILL under load: every completed response has its ledger row after restart', { timeout: 60_000 }, async () => {
  const { dir, file } = config({});
  const gw = await spawnGateway(file, dir);
  const completed: string[] = [];
  let running = true;
  const worker = async (stream: boolean) => {
    while (running) {
      try {
        const id = await request(gw.url, stream);
        if (id) completed.push(id);
      } catch {
        return; // the gateway died under this request: it was not completed
      }
    }
  };
  const workers = [...Array.from({ length: 6 }, () => worker(false)), ...Array.from({ length: 4 }, () => worker(true))];
  await new Promise((r) => setTimeout(r, 1500));
  gw.child.kill('SIGKILL');
  running = false;
  await Promise.all(workers);
  await gw.exited;
  assert.ok(completed.length > 50, `load was real: ${completed.length} completed`);

  // The restart replays what the killed gateway had journaled but not yet written.
  const restarted = await spawnGateway(file, dir);
  const store = await openStore(`sqlite://${join(dir, 'sluice.db')}`);
  try {
    const missing: string[] = [];
    for (const id of completed) if (!(await store.usage.find(id))) missing.push(id);
    assert.deepEqual(missing, [], `${missing.length} of ${completed.length} completed requests have no ledger row`);
    const rows = await store.usage.count();
    assert.ok(rows >= completed.length);
    // Money: the killed gateway's credit leases (its spare credit and what its unfinished requests
    // held) were given back at the restart, so the balance is exactly what the ledger charged.
    const charged = (await store.usage.report({ account: 'acme' })).totals.costNanos;
    assert.ok(charged > 0);
    assert.equal((await store.accounts.get('acme'))!.creditsNanos, usdToNanos(1_000_000) - charged, 'balance = credits - ledger charges');
    assert.equal(await store.billing.leased('acme'), 0, 'nothing is left held in a lease');
  } finally {
    await store.close();
    restarted.child.kill('SIGTERM');
    assert.equal(await restarted.exited, 0);
  }
});

test('SIGTERM drains: in-flight streams finish, new connections are refused, exit 0', { timeout: 60_000 }, async () => {
  const { dir, file } = config({ itlMs: 25, outputTokens: { min: 40, max: 40 } });
  const gw = await spawnGateway(file, dir);
  let started = 0;
  let allStarted: () => void;
  const running = new Promise<void>((r) => (allStarted = r));
  const streams = Array.from({ length: 5 }, () => request(gw.url, true, () => ++started === 5 && allStarted()).then((id) => ({ id }), (err: unknown) => ({ err: String(err) })));
  await running; // every stream has its headers: in flight (40 tokens x 25 ms = 1 s each)
  gw.child.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 100));
  const late = await request(gw.url, false).then(() => 'served', () => 'refused');
  assert.equal(late, 'refused', 'no new requests while draining');
  const results = await Promise.all(streams);
  for (const r of results) assert.ok('id' in r && r.id, `stream completed: ${JSON.stringify(r)}`);
  assert.equal(await gw.exited, 0);
  const store = await openStore(`sqlite://${join(dir, 'sluice.db')}`);
  try {
    for (const r of results) assert.ok(await store.usage.find((r as { id: string }).id), 'drained request is on the ledger');
  } finally {
    await store.close();
  }
});
