// A client that goes away must stop the work it started: the upstream request is aborted (the
// standalone simulator sees its slot freed long before the generation would have ended), the
// in-process engine gives its batch slot back, and the gateway goes on serving.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { startSimServer, type SimServer } from '../src/sim/sim-server.js';
import type { SimCore } from '../src/sim/sim-core.js';
import { startTestGateway, simModel, http, type TestGateway } from './helpers/gateway.js';
import { assertContractError } from './helpers/assert-error.js';

/** 400 tokens at 50 ms each: a generation of about 20 s, which no test here waits for. */
const LONG = { ttftMs: 1, itlMs: 50, outputTokens: { min: 400, max: 400 } };
/** The first token comes after 10 s. */
const LATE = { ttftMs: 10_000, itlMs: 1 };

let sim: SimServer;
let lateSim: SimServer;
let gw: TestGateway;

before(async () => {
  sim = await startSimServer({ settings: LONG });
  lateSim = await startSimServer({ settings: LATE });
  gw = await startTestGateway({
    models: [
      { id: 'up', deployments: [{ id: 'up', engine: 'openai', baseUrl: sim.url }] },
      { id: 'up-late', deployments: [{ id: 'up-late', engine: 'openai', baseUrl: lateSim.url }] },
      simModel('local', {}, { ...LONG, maxNumSeqs: 1, maxQueue: 0 }),
      simModel('local-late', {}, { ...LATE, maxNumSeqs: 1, maxQueue: 0 }),
    ],
  });
});

after(async () => {
  await gw?.close();
  await sim?.close();
  await lateSim?.close();
});

function body(model: string, stream: boolean, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ model, stream, messages: [{ role: 'user', content: 'Write a long essay.' }], ...extra });
}

function post(model: string, stream: boolean, signal?: AbortSignal, extra: Record<string, unknown> = {}): Promise<Response> {
  return fetch(`${gw.baseURL}/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${gw.key}`, 'content-type': 'application/json' },
    body: body(model, stream, extra),
    signal,
  });
}

/** A short request that must succeed. */
async function quick(model: string): Promise<void> {
  const res = await http(`${gw.baseURL}/chat/completions`, { method: 'POST', key: gw.key, body: body(model, false, { max_tokens: 2 }) });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.body.model, model);
}

/** Starts a stream, reads its first SSE event, and returns the means to abort it. */
async function streamUntilFirstEvent(model: string): Promise<{ abort: () => Promise<void>; first: string }> {
  const ac = new AbortController();
  const res = await post(model, true, ac.signal);
  assert.equal(res.status, 200);
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  while (!buf.includes('\n\n')) {
    const { value, done } = await reader.read();
    assert.ok(!done, 'stream ended before its first event');
    buf += decoder.decode(value, { stream: true });
  }
  assert.ok(buf.startsWith('data: {'), buf);
  return {
    first: buf,
    abort: async () => {
      ac.abort();
      await reader.read().catch(() => undefined);
    },
  };
}

/** Polls until cond() holds; returns how long it took. */
async function waitFor(what: string, cond: () => boolean, limitMs: number): Promise<number> {
  const t0 = performance.now();
  while (!cond()) {
    const ms = performance.now() - t0;
    if (ms > limitMs) assert.fail(`${what} not within ${limitMs} ms`);
    await sleep(10);
  }
  return performance.now() - t0;
}

function localCore(model: string): SimCore {
  const engine = gw.gateway.deps.registry.get(model)!.deployments[0]!.engine;
  const core = (engine as unknown as { core?: SimCore }).core;
  assert.ok(core, 'the in-process sim engine exposes its core');
  return core;
}

describe('openai engine in front of the standalone simulator', () => {
  test('a stream aborted after its first chunk aborts the upstream request', async () => {
    const s = await streamUntilFirstEvent('up');
    assert.ok(s.first.includes('"model":"up"'));
    assert.equal(sim.core.scheduler.load.running, 1, 'the upstream is generating');
    await s.abort();
    const ms = await waitFor('upstream slot released', () => sim.core.scheduler.load.running === 0, 2000);
    assert.ok(ms < 2000);
    await quick('up');
    assert.equal(sim.core.scheduler.load.running, 0);
  });

  test('a non-streaming request aborted mid-generation aborts the upstream request', async () => {
    const ac = new AbortController();
    const pending = post('up', false, ac.signal).catch((err: unknown) => err);
    await waitFor('upstream generating', () => sim.core.scheduler.load.running === 1, 2000);
    ac.abort();
    assert.equal(((await pending) as Error).name, 'AbortError');
    await waitFor('upstream slot released', () => sim.core.scheduler.load.running === 0, 2000);
    await quick('up');
  });

  test('a stream aborted while waiting for the first token aborts the upstream request', async () => {
    const ac = new AbortController();
    const pending = post('up-late', true, ac.signal).catch((err: unknown) => err);
    await waitFor('upstream generating', () => lateSim.core.scheduler.load.running === 1, 2000);
    ac.abort();
    assert.equal(((await pending) as Error).name, 'AbortError');
    await waitFor('upstream slot released', () => lateSim.core.scheduler.load.running === 0, 2000);
    await quick('up');
  });
});

describe('in-process sim engine (one slot, no queue)', () => {
  test('a stream aborted after its first chunk frees the slot: the next request is served, not refused', async () => {
    const core = localCore('local');
    const s = await streamUntilFirstEvent('local');
    assert.equal(core.scheduler.load.running, 1);
    // While the stream holds the only slot, another request is refused: the slot really is taken.
    const refused = await http(`${gw.baseURL}/chat/completions`, { method: 'POST', key: gw.key, body: body('local', false, { max_tokens: 2 }) });
    assertContractError(refused, 'engine_overloaded');
    await s.abort();
    await waitFor('slot released', () => core.scheduler.load.running === 0, 1000);
    await quick('local');
    await quick('local');
  });

  test('a non-streaming request aborted mid-generation frees the slot', async () => {
    const core = localCore('local');
    const ac = new AbortController();
    const pending = post('local', false, ac.signal).catch((err: unknown) => err);
    await waitFor('generating', () => core.scheduler.load.running === 1, 2000);
    ac.abort();
    assert.equal(((await pending) as Error).name, 'AbortError');
    await waitFor('slot released', () => core.scheduler.load.running === 0, 1000);
    await quick('local');
  });

  test('a stream aborted before its first token frees the slot', async () => {
    const core = localCore('local-late');
    const ac = new AbortController();
    const pending = post('local-late', true, ac.signal).catch((err: unknown) => err);
    await waitFor('admitted', () => core.scheduler.load.running === 1, 2000);
    ac.abort();
    assert.equal(((await pending) as Error).name, 'AbortError');
    await waitFor('slot released', () => core.scheduler.load.running === 0, 1000);
    // A full generation on this model needs 10 s for its first token; admission is what matters.
    const ac2 = new AbortController();
    const next = post('local-late', true, ac2.signal).catch((err: unknown) => err);
    await waitFor('next request admitted', () => core.scheduler.load.running === 1, 1000);
    ac2.abort();
    await next;
    await waitFor('slot released again', () => core.scheduler.load.running === 0, 1000);
  });
});
