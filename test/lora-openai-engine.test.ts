// vLLM's runtime LoRA API on the standalone simulator (`sluice sim` in its own process, with
// --fail-adapters and --adapter-load-ms), and the `openai` engine driving it through a gateway:
// the adapter is loaded with POST /v1/load_lora_adapter, its requests go upstream under the
// adapter's name, and a load the engine refuses is a clean 412 with the engine's text in the log only.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import OpenAI from 'openai';
import pino from 'pino';
import { http, startTestGateway, type TestGateway } from './helpers/gateway.js';
import { killSim, spawnSim, type ProcessSim } from './helpers/process-sim.js';

let sim: ProcessSim;
let gw: TestGateway;
const logLines: string[] = [];

/** The simulator's counter `name` (with `labels`, e.g. '{adapter="x"}'), 0 when absent. */
async function simCounter(name: string, labels = ''): Promise<number> {
  const text = (await http(`${sim.url.replace(/\/v1$/, '')}/metrics`)).text;
  const m = new RegExp(`^${name}${labels.replace(/[{}]/g, '\\$&')} (\\d+)$`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

const post = (path: string, body: unknown) => http(`${sim.url}${path}`, { method: 'POST', body: JSON.stringify(body) });

before(async () => {
  sim = await spawnSim(['--fail-adapters', '*broken*, /srv/old-*', '--adapter-load-ms', '20', '--ttft-ms', '1', '--itl-ms', '1']);
});
after(async () => {
  await gw?.close();
  await killSim(sim);
});

describe('the standalone simulator: vLLM\'s runtime LoRA endpoints', () => {
  test('load, list in /v1/models with the base as parent, serve, unload', async () => {
    const loaded = await post('/load_lora_adapter', { lora_name: 'direct', lora_path: '/srv/loras/direct' });
    assert.equal(loaded.status, 200, loaded.text);
    assert.match(loaded.text, /direct/);
    const again = await post('/load_lora_adapter', { lora_name: 'direct', lora_path: '/srv/loras/direct' });
    assert.equal(again.status, 400);
    assert.match(again.body.message, /already been loaded/);
    const models = (await http(`${sim.url}/models`)).body.data as Array<{ id: string; parent?: string; root?: string }>;
    const entry = models.find((m) => m.id === 'direct');
    assert.deepEqual({ parent: entry?.parent, root: entry?.root }, { parent: 'sim', root: '/srv/loras/direct' });
    const chat = await post('/chat/completions', { model: 'direct', messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 });
    assert.equal(chat.status, 200);
    assert.equal(chat.body.model, 'direct');
    assert.equal(await simCounter('sluice_sim_adapter_requests_total', '{adapter="direct"}'), 1);
    const unloaded = await post('/unload_lora_adapter', { lora_name: 'direct' });
    assert.equal(unloaded.status, 200);
    assert.equal((await post('/unload_lora_adapter', { lora_name: 'direct' })).status, 404);
    // Unloaded: vLLM answers 404 for it; any other model name is still served.
    assert.equal((await post('/chat/completions', { model: 'direct', messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 })).status, 404);
    assert.equal((await post('/chat/completions', { model: 'anything', messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 })).status, 200);
    assert.ok(!((await http(`${sim.url}/models`)).body.data as Array<{ id: string }>).some((m) => m.id === 'direct'));
  });

  test('--fail-adapters: a matching source fails as an unreadable path does on vLLM', async () => {
    const failuresBefore = await simCounter('sluice_sim_adapter_load_failures_total');
    for (const path of ['/srv/loras/broken-one', '/srv/old-2024']) {
      const r = await post('/load_lora_adapter', { lora_name: `f-${path.length}`, lora_path: path });
      assert.equal(r.status, 400);
      assert.match(r.body.message, new RegExp(path));
    }
    assert.equal(await simCounter('sluice_sim_adapter_load_failures_total'), failuresBefore + 2);
    assert.equal((await post('/load_lora_adapter', { lora_name: 'fine', lora_path: '/srv/new-old-x' })).status, 200);
  });

  test('bad bodies are 400s', async () => {
    assert.equal((await post('/load_lora_adapter', { lora_name: '', lora_path: '/a' })).status, 400);
    assert.equal((await post('/load_lora_adapter', { lora_name: 'x' })).status, 400);
    assert.equal((await post('/unload_lora_adapter', {})).status, 400);
  });
});

describe('the openai engine against it', () => {
  before(async () => {
    const sink = new Writable({
      write(chunk, _enc, done) {
        logLines.push(String(chunk));
        done();
      },
    });
    gw = await startTestGateway({
      models: [
        // The base goes upstream as `sim`; its adapters by their own names.
        { id: 'llama-base', deployments: [{ id: 'vllm-1', engine: 'openai', baseUrl: sim.url, upstreamModel: 'sim', maxAdapters: 2 }] },
        { id: 'acme-support', base: 'llama-base', adapter: { source: '/srv/loras/acme-support' } },
        { id: 'acme-broken', base: 'llama-base', adapter: { source: '/srv/secret/broken-acme' } },
        // A base whose engine serves the Responses API natively: its adapters go there by name too.
        { id: 'native-base', deployments: [{ id: 'vllm-n', engine: 'openai', baseUrl: sim.url, upstreamModel: 'sim', responses: 'native' }] },
        { id: 'native-adapter', base: 'native-base', adapter: { source: '/srv/loras/native' } },
      ],
    }, { logger: pino({ level: 'info' }, sink) });
  });

  test('an adapter is loaded on demand and its requests go upstream under its name', async () => {
    const loadsBefore = await simCounter('sluice_sim_adapter_loads_total');
    const client = gw.client();
    const res = await client.chat.completions.create({ model: 'acme-support', messages: [{ role: 'user', content: 'hi' }], max_tokens: 3 });
    assert.equal(res.model, 'acme-support');
    const s = await client.chat.completions.create({ model: 'acme-support', messages: [{ role: 'user', content: 'hi' }], max_tokens: 3, stream: true });
    let chunks = 0;
    for await (const c of s) {
      assert.equal(c.model, 'acme-support');
      chunks++;
    }
    assert.ok(chunks > 0);
    assert.equal(await simCounter('sluice_sim_adapter_loads_total'), loadsBefore + 1);
    // Counted by the engine under the adapter's name: not sent as the base's upstreamModel.
    assert.equal(await simCounter('sluice_sim_adapter_requests_total', '{adapter="acme-support"}'), 2);
    const listed = (await http(`${sim.url}/models`)).body.data as Array<{ id: string }>;
    assert.ok(listed.some((m) => m.id === 'acme-support'));
    // The base model is untouched.
    assert.equal((await client.chat.completions.create({ model: 'llama-base', messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 })).model, 'llama-base');
  });

  test('the Responses API on a native engine: the adapter goes upstream under its name', async () => {
    const res = await gw.client().responses.create({ model: 'native-adapter', input: 'hi', max_output_tokens: 3 });
    assert.equal(res.model, 'native-adapter');
    assert.equal(await simCounter('sluice_sim_adapter_requests_total', '{adapter="native-adapter"}'), 1);
  });

  test('a source the engine cannot read: 412 through the official client, no path or engine text; the detail is logged', async () => {
    const client = gw.client();
    let err: unknown;
    try {
      await client.chat.completions.create({ model: 'acme-broken', messages: [{ role: 'user', content: 'hi' }], max_tokens: 3 });
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof OpenAI.APIError, String(err));
    assert.equal(err.status, 412);
    assert.equal(err.code, 'adapter_load_failed');
    assert.match(err.message, /'acme-broken'/);
    assert.doesNotMatch(err.message, /srv|secret|No adapter found|status 400/);
    const logged = logLines.find((l) => l.includes('adapter failed to load'));
    assert.ok(logged, 'a log line for the failed load');
    assert.match(logged, /No adapter found for \/srv\/secret\/broken-acme/);
  });

  test('a gateway restarted while the engine kept the adapter: "already loaded" counts as loaded', async () => {
    const other = await startTestGateway({
      models: [
        { id: 'llama-base', deployments: [{ id: 'vllm-1', engine: 'openai', baseUrl: sim.url, upstreamModel: 'sim' }] },
        { id: 'acme-support', base: 'llama-base', adapter: { source: '/srv/loras/acme-support' } },
      ],
    });
    try {
      const res = await other.client().chat.completions.create({ model: 'acme-support', messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 });
      assert.equal(res.model, 'acme-support');
    } finally {
      await other.close();
    }
  });
});
