// `engine: llama` for real: node-llama-cpp runs a tiny random-weight llama GGUF that this test
// writes (scripts/make-tiny-gguf.ts), behind a real gateway, called with the official client.
// Without node-llama-cpp the suite skips with one line (SLUICE_REQUIRE_LLAMA=1 makes that a
// failure) and checks instead that such a config refuses to start, saying how to install it.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import OpenAI from 'openai';
import { writeTinyModelFiles, TINY, type TinyFiles } from '../scripts/make-tiny-gguf.js';
import { parseConfigDocument } from '../src/config/load.js';
import type { DeploymentConfig, ModelConfig } from '../src/config/schema.js';
import { AdapterLoadError } from '../src/engines/adapter-load-error.js';
import { EngineStartError } from '../src/engines/engine-start-error.js';
import { llamaInstalled, loadLlama, type LlamaContext, type LlamaModel } from '../src/engines/llama/binding.js';
import { LlamaEngine, type GenerationEnd } from '../src/engines/llama/llama-engine.js';
import type { EngineCall } from '../src/engines/types.js';
import { GatewayError } from '../src/errors/gateway-error.js';
import { createLogger } from '../src/observability/logger.js';
import { createEngine } from '../src/routing/registry.js';
import { Cancellation } from '../src/server/cancellation.js';
import { startGateway } from '../src/server/gateway.js';
import { openStore } from '../src/store/open.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { spawnGateway, stopGateway, writeConfig } from './helpers/process-gateway.js';
import { assertValid } from './helpers/openapi-schema.js';

const installed = await llamaInstalled();
if (!installed && process.env.SLUICE_REQUIRE_LLAMA === '1') {
  throw new Error('node-llama-cpp is not installed and SLUICE_REQUIRE_LLAMA=1 makes the local engine tests mandatory: run npm run install:llama');
}
const SKIP = installed ? undefined : 'node-llama-cpp is not installed (npm run install:llama): skipping the local engine; set SLUICE_REQUIRE_LLAMA=1 to make this a failure';

const dir = mkdtempSync(join(tmpdir(), 'sluice-llama-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function llamaDeployment(id: string, modelPath: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  // One thread: the model is tiny, and on a busy machine a second thread only spins.
  return { id, engine: 'llama', llama: { modelPath, threads: 1, contextSize: 4096, ...extra } };
}

test('a config with engine: llama does not start without node-llama-cpp, and says how to install it', { skip: installed && 'node-llama-cpp is installed' }, async () => {
  const config = parseConfigDocument({
    store: `sqlite://${join(dir, 'absent.db')}`,
    logLevel: 'silent',
    server: { host: '127.0.0.1', port: 0 },
    models: [{ id: 'tiny', deployments: [llamaDeployment('tiny-cpu', join(dir, 'none.gguf'))] }],
  }, 'test');
  writeFileSync(join(dir, 'none.gguf'), 'not used');
  const store = await openStore(config.store);
  try {
    await assert.rejects(startGateway({ config, store, logger: createLogger('silent') }), (err: Error) => {
      assert.ok(err instanceof EngineStartError, String(err));
      assert.match(err.message, /deployment tiny-cpu: engine: llama needs the node-llama-cpp package.*npm run install:llama/);
      return true;
    });
  } finally {
    await store.close();
  }
});

describe('the local llama engine', { skip: SKIP }, () => {
  let files: TinyFiles;
  let gw: TestGateway;
  let client: OpenAI;
  let tokenizerModel: LlamaModel;
  const engines = new Map<string, LlamaEngine>();
  let onEnd: ((e: GenerationEnd) => void) | undefined;

  let brokenLora: string;

  before(async () => {
    files = writeTinyModelFiles(dir, 7);
    const lora = readFileSync(files.loraPath);
    brokenLora = join(dir, 'truncated-lora.gguf');
    writeFileSync(brokenLora, lora.subarray(0, Math.floor(lora.length * 0.6)));
    gw = await startTestGateway({
      models: [
        { id: 'tiny', contextLength: 8192, deployments: [llamaDeployment('tiny-cpu', files.modelPath, { parallel: 2 })] },
        { id: 'tiny-story', base: 'tiny', adapter: { source: files.loraPath } },
        { id: 'tiny-broken', base: 'tiny', adapter: { source: brokenLora } },
        { id: 'tiny-embed', kind: 'embedding', deployments: [llamaDeployment('tiny-embed-cpu', files.modelPath, { contextSize: 512 })] },
      ],
    }, {
      engineFor: (d) => {
        if (d.engine !== 'llama') return createEngine(d);
        const engine = new LlamaEngine(d, {
          generationEnded: (e) => onEnd?.(e),
        });
        engines.set(d.id, engine);
        return engine;
      },
    });
    client = gw.client();
    // The model's own tokenizer, loaded apart from the engine, to check the counts it reports.
    const { llama } = await loadLlama();
    tokenizerModel = await llama.loadModel({ modelPath: files.modelPath });
  });

  after(async () => {
    await gw?.close();
    await tokenizerModel?.dispose();
  });

  const ask = (content: string) => [{ role: 'user' as const, content }];
  /** The prompt as the model's ChatML template renders it, counted by its tokenizer, plus the BOS. */
  const chatPromptTokens = (content: string) => 1 + tokenizerModel.tokenize(`<|im_start|>user\n${content}<|im_end|>\n<|im_start|>assistant\n`, true).length;

  test('chat: an answer of max_tokens tokens, usage counted by the model tokenizer, the same answer streamed', async () => {
    const r = await client.chat.completions.create({ model: 'tiny', messages: ask('Say hello'), max_tokens: 8, temperature: 0 });
    assertValid('CreateChatCompletionResponse', r);
    assert.equal(r.model, 'tiny');
    const choice = r.choices[0]!;
    assert.equal(choice.finish_reason, 'length');
    assert.equal(choice.message.role, 'assistant');
    assert.ok(choice.message.content && choice.message.content.length > 0, 'an answer');
    assert.deepEqual(r.usage, { prompt_tokens: chatPromptTokens('Say hello'), completion_tokens: 8, total_tokens: chatPromptTokens('Say hello') + 8 });

    const chunks = await client.chat.completions.create({ model: 'tiny', messages: ask('Say hello'), max_tokens: 8, temperature: 0, stream: true, stream_options: { include_usage: true } });
    let text = '';
    let role: string | undefined;
    let finish: string | null | undefined;
    let usage: OpenAI.CompletionUsage | undefined | null;
    for await (const c of chunks) {
      assertValid('CreateChatCompletionStreamResponse', c);
      role ??= c.choices[0]?.delta.role;
      text += c.choices[0]?.delta.content ?? '';
      finish = c.choices[0]?.finish_reason ?? finish;
      if (c.usage) usage = c.usage;
    }
    assert.equal(role, 'assistant');
    assert.equal(finish, 'length');
    assert.equal(text, choice.message.content, 'greedy decoding: the stream says what the JSON answer said');
    assert.deepEqual(usage, r.usage);
  });

  test('completions: usage, streaming, echo and stop sequences', async () => {
    const prompt = 'tell me a story about the river';
    const r = await client.completions.create({ model: 'tiny', prompt, max_tokens: 12, temperature: 0 });
    assertValid('CreateCompletionResponse', r);
    const text = r.choices[0]!.text;
    assert.equal(r.choices[0]!.finish_reason, 'length');
    // llama.cpp counts a prompt as its BOS and the SentencePiece tokens of the text.
    const promptTokens = 1 + tokenizerModel.tokenize(prompt).length;
    assert.deepEqual(r.usage, { prompt_tokens: promptTokens, completion_tokens: 12, total_tokens: promptTokens + 12 });

    let streamed = '';
    for await (const c of await client.completions.create({ model: 'tiny', prompt, max_tokens: 12, temperature: 0, stream: true })) {
      // OpenAI's document types these chunks with a non-null finish_reason, which it sends only last.
      if (c.choices[0]?.finish_reason) assertValid('CreateCompletionResponse', c, 'last completions chunk');
      streamed += c.choices[0]?.text ?? '';
    }
    assert.equal(streamed, text);

    const echoed = await client.completions.create({ model: 'tiny', prompt, max_tokens: 12, temperature: 0, echo: true });
    assert.equal(echoed.choices[0]!.text, prompt + text);

    // A stop sequence from the middle of the greedy answer cuts it there.
    const at = Math.floor(text.length / 2);
    const stop = text.slice(at, at + 2);
    const cut = await client.completions.create({ model: 'tiny', prompt, max_tokens: 12, temperature: 0, stop: [stop] });
    assert.equal(cut.choices[0]!.finish_reason, 'stop');
    assert.equal(cut.choices[0]!.text, text.slice(0, text.indexOf(stop)));
    let cutStreamed = '';
    let cutFinish: string | null | undefined;
    for await (const c of await client.completions.create({ model: 'tiny', prompt, max_tokens: 12, temperature: 0, stop: [stop], stream: true })) {
      cutStreamed += c.choices[0]?.text ?? '';
      cutFinish = c.choices[0]?.finish_reason ?? cutFinish;
    }
    assert.equal(cutStreamed, cut.choices[0]!.text, 'streamed, the text held back while it might start the stop sequence is never sent');
    assert.equal(cutFinish, 'stop');
  });

  test('embeddings: vectors of the model embedding size, as floats and base64, tokens counted', async () => {
    const input = ['hello world', 'tell me a story'];
    const r = await client.embeddings.create({ model: 'tiny-embed', input, encoding_format: 'float' });
    assertValid('CreateEmbeddingResponse', r);
    assert.equal(r.data.length, 2);
    for (const d of r.data) assert.equal(d.embedding.length, TINY.embedding);
    assert.notDeepEqual(r.data[0]!.embedding, r.data[1]!.embedding);
    assert.equal(r.usage.prompt_tokens, input.reduce((n, s) => n + 1 + tokenizerModel.tokenize(s).length, 0));

    const b = await fetch(`${gw.baseURL}/embeddings`, {
      method: 'POST',
      headers: { authorization: `Bearer ${gw.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'tiny-embed', input: 'hello world', encoding_format: 'base64' }),
    });
    const body = await b.json() as { data: { embedding: string }[] };
    const bytes = Buffer.from(body.data[0]!.embedding, 'base64');
    const floats = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
    assert.deepEqual([...floats], r.data[0]!.embedding.map((x) => Math.fround(x)));
  });

  test('a client that disconnects stops the generation at once; the sequence serves the next request', async () => {
    const ended = new Promise<GenerationEnd>((resolve) => (onEnd = resolve));
    const ac = new AbortController();
    const res = await fetch(`${gw.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${gw.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'tiny', messages: ask('Write a long essay'), max_tokens: 4000, temperature: 0, stream: true }),
      signal: ac.signal,
    });
    assert.equal(res.status, 200);
    const reader = res.body!.getReader();
    const first = await reader.read();
    assert.ok(!first.done && new TextDecoder().decode(first.value).startsWith('data: {'));
    ac.abort();
    await reader.read().catch(() => undefined);
    const end = await ended;
    onEnd = undefined;
    assert.equal(end.reason, 'abort');
    assert.ok(end.completionTokens < 4000, `stopped after ${end.completionTokens} of 4000 tokens`);
    const next = await client.chat.completions.create({ model: 'tiny', messages: ask('hi'), max_tokens: 2 });
    assert.equal(next.usage?.completion_tokens, 2);
  });

  test('requests beyond the parallel sequences wait their turn, then are served', async () => {
    const answers = await Promise.all([1, 2, 3, 4].map((i) => client.chat.completions.create({ model: 'tiny', messages: ask(`count ${i}`), max_tokens: 6 })));
    for (const r of answers) {
      assert.equal(r.choices[0]!.finish_reason, 'length');
      assert.equal(r.usage?.completion_tokens, 6);
    }
  });

  test('generation runs off the event loop', async () => {
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    const r = await client.completions.create({ model: 'tiny', prompt: 'hello', max_tokens: 400, temperature: 0 });
    delay.disable();
    assert.equal(r.usage?.completion_tokens, 400);
    // The whole generation would show as one long stall if it ran on the main thread.
    assert.ok(delay.max / 1e6 < 250, `event loop stalled ${(delay.max / 1e6).toFixed(0)} ms`);
  });

  test('fields the engine cannot honour are a 400 naming them; a max_tokens past the context is refused', async () => {
    await assert.rejects(client.chat.completions.create({ model: 'tiny', messages: ask('hi'), n: 2 }), (err: InstanceType<typeof OpenAI.APIError>) => {
      assert.equal(err.status, 400);
      assert.equal(err.code, 'unsupported_parameter');
      assert.equal(err.param, 'n');
      return true;
    });
    await assert.rejects(client.chat.completions.create({ model: 'tiny', messages: ask('hi'), max_tokens: 5000 }), (err: InstanceType<typeof OpenAI.APIError>) => {
      assert.equal(err.status, 400);
      assert.equal(err.code, 'context_length_exceeded');
      assert.equal(err.param, 'max_tokens');
      return true;
    });
  });

  describe('LoRA adapters', () => {
    let engine: LlamaEngine;
    let deployment: DeploymentConfig;
    let model: ModelConfig;

    before(() => {
      engine = engines.get('tiny-cpu')!;
      model = gw.config.models.find((m) => m.id === 'tiny')!;
      deployment = model.deployments[0]!;
    });

    const story = async (modelId: string) => (await client.chat.completions.create({ model: modelId, messages: ask('tell me a story'), max_tokens: 10, temperature: 0 })).choices[0]!.message.content ?? '';

    test('an adapter model on an engine: llama base: loaded on demand, its answers differ from the base', async () => {
      const base = await story('tiny');
      const adapted = await story('tiny-story');
      assert.notEqual(adapted, base, 'the LoRA weights change the greedy answer');
      assert.ok(engine.loadedAdapters().includes('tiny-story'));
      assert.equal(await story('tiny'), base, 'the base model is unchanged beside it');
      assert.equal(await story('tiny-story'), adapted);
    });

    test('a damaged adapter file is a 412 adapter_load_failed naming the adapter, never its path', async () => {
      await assert.rejects(story('tiny-broken'), (err: InstanceType<typeof OpenAI.APIError>) => {
        assert.equal(err.status, 412);
        assert.equal(err.code, 'adapter_load_failed');
        assert.match(err.message, /tiny-broken/);
        assert.ok(!err.message.includes(dir) && !err.message.includes('.gguf'), err.message);
        return true;
      });
      assert.ok(!engine.loadedAdapters().includes('tiny-broken'));
      assert.ok((await story('tiny')).length > 0, 'the engine goes on serving');
    });

    /** A direct call to an engine; `as` the model config the gateway would pass (the base by default). */
    const directCall = (modelId: string, as = model, maxTokens = 10): EngineCall => ({
      endpoint: 'chat',
      body: { model: modelId, messages: ask('tell me a story'), max_tokens: maxTokens, temperature: 0 },
      model: as,
      deployment,
      requestId: 'lora-test',
      cancel: new Cancellation(),
      fault: undefined,
      clientWantsUsage: false,
    });

    async function answer(modelId: string, as = model): Promise<string> {
      const r = await engine.json(directCall(modelId, as));
      return (JSON.parse(r.text) as { choices: { message: { content: string } }[] }).choices[0]!.message.content;
    }

    const adapterModel = () => gw.config.models.find((m) => m.id === 'tiny-story')!;

    test('an adapter the engine no longer holds is a 404 to the gateway, which loads it again: never the base model\'s answer', async () => {
      const adapted = await story('tiny-story');
      // The engine drops it behind the gateway's back (as a restarted engine would).
      await engine.unloadAdapter(deployment, 'tiny-story');
      assert.ok(!engine.loadedAdapters().includes('tiny-story'));
      const { data, response } = await client.chat.completions.create({ model: 'tiny-story', messages: ask('tell me a story'), max_tokens: 10, temperature: 0 }).withResponse();
      assert.equal(data.choices[0]!.message.content, adapted, 'the adapter\'s answer, not the base model\'s');
      assert.equal(response.headers.get('x-sluice-attempts'), '2', 'the first attempt was refused, the adapter loaded again');
      assert.ok(engine.loadedAdapters().includes('tiny-story'));
    });

    test('the engine itself: an adapter model it does not hold is refused with 404 model_not_deployed', async () => {
      for (const run of [() => engine.json(directCall('tiny-unheld', adapterModel())), () => engine.stream(directCall('tiny-unheld', adapterModel()))]) {
        await assert.rejects(run(), (err: unknown) => {
          assert.ok(err instanceof GatewayError, String(err));
          assert.equal(err.code, 'model_not_deployed');
          assert.equal(err.entry.status, 404);
          return true;
        });
      }
    });

    describe('an unloaded adapter whose generation still runs', () => {
      let own: LlamaEngine;
      const failures: { adapter: string; err: unknown }[] = [];
      let onFailure: ((adapter: string) => void) | undefined;

      before(async () => {
        // An engine of its own: these tests close it.
        assert.equal(deployment.engine, 'llama');
        own = new LlamaEngine(deployment as Extract<DeploymentConfig, { engine: 'llama' }>, {
          adapterDisposeFailed: (adapter, err) => {
            failures.push({ adapter, err });
            onFailure?.(adapter);
          },
        });
        await own.start();
      });
      after(() => own.close());

      /** Loads the adapter on `own`, and returns the llama context node-llama-cpp created for it. */
      async function loadCapturing(name: string): Promise<LlamaContext & { readonly disposed: boolean }> {
        const proto = Object.getPrototypeOf(tokenizerModel) as { createContext: (...args: unknown[]) => Promise<LlamaContext> };
        const original = proto.createContext;
        let created: LlamaContext | undefined;
        proto.createContext = async function (this: LlamaModel, ...args: unknown[]) {
          created = await original.apply(this, args);
          return created;
        };
        try {
          await own.loadAdapter(deployment, { name, source: files.loraPath }, new Cancellation());
        } finally {
          proto.createContext = original;
        }
        assert.ok(created);
        return created as LlamaContext & { readonly disposed: boolean };
      }

      /** The context's next dispose() rejects (as a failing native free would); later ones are real. */
      function failNextDispose(context: LlamaContext): void {
        const own = context as unknown as Record<string, unknown>;
        own.dispose = () => {
          delete own.dispose;
          return Promise.reject(new Error('simulated dispose failure'));
        };
      }

      /** A long streamed generation on the adapter, running once its first text arrived; stop() ends it. */
      async function generating(name: string): Promise<{ stop: () => Promise<unknown> }> {
        const answer = await own.stream(directCall(name, adapterModel(), 4000));
        const events = answer.events[Symbol.asyncIterator]();
        assert.equal((await events.next()).done, false);
        return { stop: () => events.return!(undefined).catch(() => undefined) };
      }

      test('its context is disposed once the generation ends; a failed dispose is reported, never an unhandled rejection', async () => {
        const context = await loadCapturing('held-a');
        const running = await generating('held-a');
        await own.unloadAdapter(deployment, 'held-a');
        assert.ok(!own.loadedAdapters().includes('held-a'));
        assert.equal(context.disposed, false, 'kept while its generation runs');
        failNextDispose(context);
        const reported = new Promise<string>((resolve) => (onFailure = resolve));
        await running.stop();
        assert.equal(await reported, 'held-a');
        assert.match(String(failures[0]!.err), /simulated dispose failure/);
      });

      test('close() disposes such a context, and waits for that, before the model goes', async () => {
        const context = await loadCapturing('held-b');
        const running = await generating('held-b');
        await own.unloadAdapter(deployment, 'held-b');
        assert.equal(context.disposed, false, 'kept while its generation runs');
        failNextDispose(context);
        await own.close();
        // Disposed by close() itself (its failure reported before close() returned), not later by a
        // timer or by the model's own dispose, whose rejection nobody would handle.
        assert.deepEqual(failures.map((f) => f.adapter), ['held-a', 'held-b']);
        await running.stop();
      });
    });

    test('the engine itself: loadAdapter applies the GGUF LoRA to requests for its name; unloadAdapter removes it', async () => {
      const base = await answer('direct-story');
      await engine.loadAdapter(deployment, { name: 'direct-story', source: files.loraPath }, new Cancellation());
      assert.ok(engine.loadedAdapters().includes('direct-story'));
      assert.notEqual(await answer('direct-story'), base);
      await engine.unloadAdapter(deployment, 'direct-story');
      assert.ok(!engine.loadedAdapters().includes('direct-story'));
      assert.equal(await answer('direct-story'), base);
    });

    test('the engine itself: a damaged, foreign or missing file is an AdapterLoadError whose message names no path', async () => {
      const garbage = join(dir, 'garbage-lora.gguf');
      writeFileSync(garbage, Buffer.from('GGUF this is not a gguf file at all'.repeat(20)));
      // A whole model where an adapter belongs: general.type is not "adapter".
      const notAdapter = files.modelPath;
      for (const source of [brokenLora, garbage, notAdapter, join(dir, 'missing-lora.gguf')]) {
        await assert.rejects(engine.loadAdapter(deployment, { name: 'broken', source }, new Cancellation()), (err: Error) => {
          assert.ok(err instanceof AdapterLoadError, `${source}: ${String(err)}`);
          assert.ok(!err.message.includes(dir), 'the client-facing message names no path');
          assert.ok(err.detail.includes(source), 'the log gets the path and the reason');
          return true;
        });
      }
      assert.ok(!engine.loadedAdapters().includes('broken'));
      assert.ok((await answer('tiny')).length > 0);
    });
  });

  test('sluice serve runs an engine: llama config as a user would start it (its stdout a pipe)', async () => {
    const key = 'sk-local-engine-test-0123456789';
    const { dir: procDir, file } = writeConfig({
      accounts: [{ id: 'local-test', keys: [{ key }] }],
      models: [{ id: 'tiny', deployments: [llamaDeployment('tiny-cpu', files.modelPath)] }],
    });
    const proc = await spawnGateway(file, procDir);
    try {
      const r = await new OpenAI({ baseURL: `${proc.url}/v1`, apiKey: key, maxRetries: 0 }).chat.completions.create({ model: 'tiny', messages: ask('hi'), max_tokens: 3 });
      assert.equal(r.usage?.completion_tokens, 3);
    } finally {
      await stopGateway(proc);
    }
  });

  test('a model file that cannot be loaded stops the gateway at start, naming the deployment', async () => {
    const bad = join(dir, 'bad.gguf');
    writeFileSync(bad, 'not a model');
    const config = parseConfigDocument({
      store: `sqlite://${join(dir, 'bad.db')}`,
      logLevel: 'silent',
      server: { host: '127.0.0.1', port: 0 },
      models: [{ id: 'tiny', deployments: [llamaDeployment('broken-cpu', bad)] }],
    }, 'test');
    const store = await openStore(config.store);
    try {
      await assert.rejects(startGateway({ config, store, logger: createLogger('silent') }), (err: Error) => {
        assert.ok(err instanceof EngineStartError, String(err));
        assert.match(err.message, /^deployment broken-cpu: cannot load the GGUF model/);
        return true;
      });
    } finally {
      await store.close();
    }
  });
});
