// LoRA adapters as models (issue 17, parts 1-3), against in-process simulator deployments in a
// real gateway: affinity, LRU unloading at maxAdapters, one shared load for concurrent first
// requests, remembered failures, one deployment failing the load while another serves it, and the
// 412 contract through the official client. Loads are counted at the simulated engines themselves.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { http, simModel, startTestGateway, type TestGateway } from './helpers/gateway.js';
import { assertContractError } from './helpers/assert-error.js';
import { SimEngine } from '../src/engines/sim/sim-engine.js';
import { createKeyFor } from '../src/keys/bootstrap.js';
import { DeploymentAdapters, type AdapterLoad } from '../src/routing/deployment-adapters.js';
import { Cancellation } from '../src/server/cancellation.js';

const ADMIN = 'admin-token-for-lora-tests-0123456789';
const SIM = { ttftMs: 1, itlMs: 1, outputTokens: { min: 2, max: 4 } };

/** A sim deployment of a base model; `sim` adds simulator settings (adapterLoadMs, failAdapters). */
const dep = (id: string, sim: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) => ({ id, engine: 'sim', sim: { ...SIM, adapterLoadMs: 20, ...sim }, ...extra });
const adapter = (id: string, base: string, source: string, extra: Record<string, unknown> = {}) => {
  const { adapter: more, ...rest } = extra;
  return { id, base, adapter: { source, ...(more as object | undefined) }, ...rest };
};

let gw: TestGateway;
let client: OpenAI;

before(async () => {
  gw = await startTestGateway({
    adminToken: ADMIN,
    models: [
      simModel('test-chat'),
      // Two deployments: affinity, shared loads, one failing while the other serves.
      { id: 'pair', routing: 'least-loaded', deployments: [dep('p1', { adapterLoadMs: 150, failAdapters: ['*flaky*'] }), dep('p2', { adapterLoadMs: 150 })] },
      adapter('pair-a', 'pair', '/srv/loras/pair-a'),
      adapter('pair-b', 'pair', '/srv/loras/pair-b'),
      adapter('pair-c', 'pair', '/srv/loras/pair-c'),
      adapter('pair-flaky', 'pair', '/srv/loras/flaky-one'),
      // One deployment holding at most two adapters: LRU.
      { id: 'small', deployments: [dep('s1', { failAdapters: ['*/broken/*'] }, { maxAdapters: 2 })] },
      adapter('lru-a', 'small', '/srv/loras/lru-a'),
      adapter('lru-b', 'small', '/srv/loras/lru-b'),
      adapter('lru-c', 'small', '/srv/loras/lru-c'),
      // Failing loads: remembered (default 10 s), or not at all.
      { id: 'one', deployments: [dep('o1', { failAdapters: ['*/broken/*'] })] },
      adapter('bad', 'one', '/srv/secret-dir/broken/bad-adapter'),
      adapter('bad-unremembered', 'one', '/srv/secret-dir/broken/other', { adapter: { failedLoadTtlMs: 0 } }),
      adapter('../../etc/passwd', 'one', '/srv/loras/ok'),
      adapter('good', 'one', '/srv/loras/good', { pricing: { inputPerMTok: 1, outputPerMTok: 2 } }),
      adapter('lost', 'one', '/srv/loras/lost'),
      adapter('private-other', 'one', '/srv/loras/p1', { owner: 'someone-else' }),
      adapter('private-mine', 'one', '/srv/loras/p2', { owner: 'tester' }),
    ],
  });
  client = gw.client();
});
after(() => gw.close());

function engine(model: string, deployment: string): SimEngine {
  const d = gw.gateway.deps.registry.get(model)!.deployments.find((x) => x.config.id === deployment)!;
  return d.engine as SimEngine;
}
const loads = (model: string, deployment: string) => engine(model, deployment).adapterCounts().loads;

async function ask(model: string, c = client): Promise<{ deployment: string | null; model: string }> {
  const { data, response } = await c.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 3 }).withResponse();
  return { deployment: response.headers.get('x-sluice-deployment'), model: data.model };
}

async function askError(model: string, stream = false): Promise<InstanceType<typeof OpenAI.APIError>> {
  try {
    if (stream) {
      const s = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 3, stream: true });
      for await (const _ of s);
    } else {
      await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 3 });
    }
  } catch (err) {
    assert.ok(err instanceof OpenAI.APIError, String(err));
    return err;
  }
  assert.fail(`${model} was served`);
}

const admin = (path: string) => http(`${gw.url}/admin${path}`, { key: ADMIN });
const setWeight = (deployment: string, weight: number) => http(`${gw.url}/admin/models/pair/deployments/${deployment}`, { key: ADMIN, method: 'PATCH', body: JSON.stringify({ weight }) });

describe('placement', () => {
  test('an adapter is served by its own id, and later requests go where it is loaded (affinity)', async () => {
    const first = await ask('pair-a');
    assert.equal(first.model, 'pair-a');
    assert.ok(first.deployment === 'p1' || first.deployment === 'p2');
    const other = first.deployment === 'p1' ? 'p2' : 'p1';
    // The other deployment now looks far less loaded (ten times the weight): the adapter stays put.
    assert.equal((await setWeight(other, 10)).status, 200);
    try {
      for (let i = 0; i < 5; i++) assert.equal((await ask('pair-a')).deployment, first.deployment);
      // A new adapter, by contrast, is loaded where the load is least.
      assert.equal((await ask('pair-c')).deployment, other);
    } finally {
      await setWeight(other, 1);
    }
    assert.equal(engine('pair', first.deployment!).hasAdapter('pair-a'), true);
    assert.equal(engine('pair', other).hasAdapter('pair-a'), false);
    // The base model's own requests are not affected.
    assert.equal((await ask('pair')).model, 'pair');
  });

  test('concurrent first requests share one load', async () => {
    const before = loads('pair', 'p1') + loads('pair', 'p2');
    const served = await Promise.all(Array.from({ length: 8 }, () => ask('pair-b')));
    assert.equal(loads('pair', 'p1') + loads('pair', 'p2') - before, 1);
    assert.equal(new Set(served.map((s) => s.deployment)).size, 1, 'all on the deployment that loaded it');
  });

  test('a load that fails on one deployment is served by the other, which keeps serving it', async () => {
    const p1Before = loads('pair', 'p1');
    const first = await ask('pair-flaky');
    assert.equal(first.deployment, 'p2');
    for (let i = 0; i < 3; i++) assert.equal((await ask('pair-flaky')).deployment, 'p2');
    // p1 was asked at most once (when it was chosen first), never again while p2 has it.
    assert.ok(loads('pair', 'p1') - p1Before <= 1);
    const view = (await admin('/models/pair-flaky')).body;
    assert.equal(view.adapter.base, 'pair');
    const p2 = view.adapter.deployments.find((d: { deployment: string }) => d.deployment === 'p2');
    assert.equal(p2.state, 'loaded');
    assert.doesNotMatch(JSON.stringify(view), /srv|flaky-one/, 'the admin view never shows the source');
  });

  test('at most maxAdapters per deployment: the least recently used is unloaded first', async () => {
    const s1 = engine('small', 's1');
    await ask('lru-a');
    await ask('lru-b');
    await ask('lru-a'); // b is now the least recently used
    await ask('lru-c');
    assert.equal(s1.hasAdapter('lru-a'), true);
    assert.equal(s1.hasAdapter('lru-b'), false);
    assert.equal(s1.hasAdapter('lru-c'), true);
    assert.equal(s1.adapterCounts().unloads, 1);
    // b is loaded again on demand (a is now least recently used and makes room).
    const loadsBefore = s1.adapterCounts().loads;
    await ask('lru-b');
    assert.equal(s1.adapterCounts().loads, loadsBefore + 1);
    assert.equal(s1.hasAdapter('lru-a'), false);
    const dview = (await admin('/models/small')).body.deployments[0];
    assert.equal(dview.adapters.max, 2);
    assert.deepEqual([...dview.adapters.loaded].sort(), ['lru-b', 'lru-c']);
  });

  test('an engine that lost the adapter (404) gets it loaded again, and the request is served', async () => {
    const o1 = engine('one', 'o1');
    await ask('lost');
    // The engine forgets it behind the gateway's back (as a restarted vLLM would).
    await o1.unloadAdapter(undefined as never, 'lost');
    const before = o1.adapterCounts().loads;
    assert.equal((await ask('lost')).model, 'lost');
    assert.equal(o1.adapterCounts().loads, before + 1);
  });
});

describe('one deployment\'s adapter books', () => {
  test('a request holding a forgotten load gives back that load, not the reload: LRU never unloads an adapter in use', async () => {
    // The gateway's config for s1 (maxAdapters 2), on a simulated engine of its own.
    const config = gw.gateway.deps.registry.get('small')!.deployments[0]!.config;
    assert.equal(config.engine, 'sim');
    const sim = new SimEngine(config.engine === 'sim' ? config.sim : (undefined as never));
    let unloaded: ((name: string) => void) | undefined;
    const books = new DeploymentAdapters(config, sim, { unloaded: (name) => unloaded?.(name) });
    const spec = (name: string): AdapterLoad => ({ name, source: `/srv/loras/${name}`, failedLoadTtlMs: 0, loadTimeoutMs: 5_000 });
    const cancel = new Cancellation();
    const a = await books.acquire(spec('x'), cancel);
    const b = await books.acquire(spec('x'), cancel);
    // b's attempt got the engine's 404: its load is forgotten, and its retry loads x again.
    books.forget(b);
    books.release(b);
    const retry = await books.acquire(spec('x'), cancel);
    assert.notEqual(retry, a, 'a new load, with books of its own');
    // a ends: it gives back the forgotten load; the retry still uses the new one.
    books.release(a);
    await books.acquire(spec('y'), cancel);
    // Three loaded or loading past maxAdapters 2: only an idle adapter may make room, and none is.
    await books.acquire(spec('z'), cancel);
    assert.equal(sim.hasAdapter('x'), true, 'x, in use by the retry, is not unloaded');
    assert.deepEqual(books.state().loaded, ['x', 'y', 'z']);
    assert.equal(sim.adapterCounts().unloads, 0);
    // Once the retry is done with x, the excess goes: x is the least recently used idle one.
    const gone = new Promise<string>((resolve) => (unloaded = resolve));
    books.release(retry);
    assert.equal(await gone, 'x');
    assert.equal(sim.hasAdapter('x'), false);
    assert.deepEqual(books.state().loaded, ['y', 'z']);
  });

  test('forgetting a load that was already replaced keeps the replacement', async () => {
    const config = gw.gateway.deps.registry.get('small')!.deployments[0]!.config;
    const sim = new SimEngine(config.engine === 'sim' ? config.sim : (undefined as never));
    const books = new DeploymentAdapters(config, sim);
    const spec: AdapterLoad = { name: 'x', source: '/srv/loras/x', failedLoadTtlMs: 0, loadTimeoutMs: 5_000 };
    const cancel = new Cancellation();
    const first = await books.acquire(spec, cancel);
    const second = await books.acquire(spec, cancel);
    books.forget(first);
    const reloaded = await books.acquire(spec, cancel);
    // second's 404 came later but was about the old load: the reload is not thrown away.
    books.forget(second);
    assert.deepEqual(books.state().loaded, ['x']);
    const loadsBefore = sim.adapterCounts().loads;
    assert.equal(await books.acquire(spec, cancel), reloaded);
    assert.equal(sim.adapterCounts().loads, loadsBefore);
  });
});

describe('failures: 412 adapter_load_failed', () => {
  test('through the official client: status, code, the adapter named, no path or engine text', async () => {
    for (const stream of [false, true]) {
      const err = await askError('bad', stream);
      assert.equal(err.status, 412);
      assert.equal(err.code, 'adapter_load_failed');
      assert.equal(err.type, 'precondition_failed');
      assert.match(err.message, /'bad'/);
      assert.doesNotMatch(err.message, /srv|secret|broken|No adapter found/);
    }
    const raw = await http(`${gw.baseURL}/chat/completions`, { key: gw.key, method: 'POST', body: JSON.stringify({ model: 'bad', messages: [{ role: 'user', content: 'hi' }] }) });
    assertContractError(raw, 'adapter_load_failed');
    assert.doesNotMatch(raw.text, /srv|secret|broken|No adapter found/);
  });

  test('a failed load is remembered: requests within the window do not reach the engine', async () => {
    const o1 = engine('one', 'o1');
    const before = o1.adapterCounts().failures;
    await Promise.all(Array.from({ length: 5 }, () => askError('bad')));
    assert.equal(o1.adapterCounts().failures, before, 'the failure from the previous test is still remembered');
    const view = (await admin('/models/bad')).body.adapter.deployments[0];
    assert.equal(view.state, 'failed');
    assert.ok(view.retryInMs > 0 && view.retryInMs <= 10_000);
  });

  test('with failedLoadTtlMs 0 every request asks the engine again', async () => {
    const o1 = engine('one', 'o1');
    const before = o1.adapterCounts().failures;
    await askError('bad-unremembered');
    await askError('bad-unremembered');
    assert.equal(o1.adapterCounts().failures, before + 2);
  });

  test('an adapter id with path characters gets a clean 412 and never reaches the engine', async () => {
    const o1 = engine('one', 'o1');
    const before = o1.adapterCounts().loads;
    const err = await askError('../../etc/passwd');
    assert.equal(err.status, 412);
    assert.equal(err.code, 'adapter_load_failed');
    assert.match(err.message, /path characters/);
    assert.doesNotMatch(err.message, /srv/);
    assert.equal(o1.adapterCounts().loads, before);
  });
});

describe('adapters are models', () => {
  test('visibility: a private adapter of another account is a 404, the caller\'s own is served', async () => {
    const err = await askError('private-other');
    assert.equal(err.status, 404);
    assert.equal(err.code, 'model_not_found');
    assert.equal((await ask('private-mine')).model, 'private-mine');
    const list = await client.models.list();
    const ids = list.data.map((m) => m.id);
    assert.ok(ids.includes('private-mine') && ids.includes('good'));
    assert.ok(!ids.includes('private-other'));
  });

  test('a key scoped to other models is refused the adapter (403)', async () => {
    const { key } = await createKeyFor(gw.store, 'tester', { models: ['test-*'] });
    const scoped = gw.client({ apiKey: key });
    try {
      await ask('good', scoped);
      assert.fail('served');
    } catch (err) {
      assert.ok(err instanceof OpenAI.APIError);
      assert.equal(err.status, 403);
      assert.equal(err.code, 'model_access_denied');
    }
  });

  test('usage is reported as for any model', async () => {
    const res = await client.chat.completions.create({ model: 'good', messages: [{ role: 'user', content: 'price me' }], max_tokens: 3 });
    assert.ok(res.usage && res.usage.prompt_tokens > 0 && res.usage.completion_tokens > 0);
    await gw.settled();
  });
});

test('metrics: loads by result, unloads, adapters loaded per deployment', async () => {
  const text = (await http(`${gw.url}/metrics`)).text;
  assert.match(text, /sluice_adapter_loads_total\{model="one",deployment="o1",result="failed"\} [1-9]/);
  assert.match(text, /sluice_adapter_loads_total\{model="small",deployment="s1",result="loaded"\} [1-9]/);
  assert.match(text, /sluice_adapter_unloads_total\{model="small",deployment="s1"\} [1-9]/);
  assert.match(text, /sluice_adapters_loaded\{model="small",deployment="s1"\} 2/);
  assert.doesNotMatch(text, /srv\/loras/);
});
