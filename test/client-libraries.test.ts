// How users meet Sluice: through client libraries written by others. For the Vercel AI SDK (`ai`
// with `@ai-sdk/openai-compatible`) and LangChain (`@langchain/openai`): a call, a stream, a
// tool-call round trip against the simulator, an error before the stream (status and code reach
// the caller) and a failure mid-stream (the caller sees an error, never a silently truncated
// answer). What a library cannot see is written down in docs/clients.md.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { createOpenAI } from '@ai-sdk/openai';
import { APICallError, generateText, jsonSchema, stepCountIs, streamText, tool } from 'ai';
import { ChatOpenAI } from '@langchain/openai';
import { AIMessage, HumanMessage, ToolMessage } from '@langchain/core/messages';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';

let gw: TestGateway;
before(async () => {
  gw = await startTestGateway();
});
after(() => gw.close());

const weatherParameters = {
  type: 'object',
  properties: { city: { type: 'string' }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'] } },
  required: ['city', 'unit'],
  additionalProperties: false,
} as const;

/** A tool-call round trip through the AI SDK: the first step must call the tool, the next answers with its result. */
async function weatherRoundTrip(model: Parameters<typeof generateText>[0]['model']): Promise<void> {
  const calls: unknown[] = [];
  const r = await generateText({
    model,
    prompt: 'What is the weather in Paris?',
    tools: {
      get_weather: tool({
        description: 'The weather in a city',
        inputSchema: jsonSchema<{ city: string; unit: string }>(weatherParameters),
        execute: async (args) => {
          calls.push(args);
          return { temperature: 21 };
        },
      }),
    },
    toolChoice: 'required',
    prepareStep: ({ stepNumber }) => (stepNumber > 0 ? { toolChoice: 'none' } : undefined),
    stopWhen: stepCountIs(3),
    maxRetries: 0,
  });
  assert.equal(calls.length, 1, 'the tool ran once');
  const args = calls[0] as { city: unknown; unit: unknown };
  assert.equal(typeof args.city, 'string');
  assert.ok(args.unit === 'celsius' || args.unit === 'fahrenheit', `unit ${String(args.unit)}`);
  assert.equal(r.steps.length, 2);
  assert.equal(r.steps[0]!.finishReason, 'tool-calls');
  assert.ok(r.text.length > 0, 'the last step answers in text');
}

/** Headers that make the simulator fail (its deployment obeys x-sluice-fault). */
const fault = (name: string) => ({ 'x-sluice-fault': name });

describe("Vercel AI SDK's default OpenAI provider (the Responses API)", () => {
  // createOpenAI(...)(model) calls POST /v1/responses, with store on: later steps of a tool loop
  // send earlier output back as item_reference items.
  const provider = () => createOpenAI({ baseURL: gw.baseURL, apiKey: gw.key });

  test('a call: text and usage', async () => {
    const r = await generateText({ model: provider()('test-chat'), prompt: 'Say hello', maxRetries: 0 });
    assert.ok(r.text.length > 0);
    assert.ok((r.usage.inputTokens ?? 0) > 0 && (r.usage.outputTokens ?? 0) > 0, JSON.stringify(r.usage));
    assert.equal(r.finishReason, 'stop');
  });

  test('a stream: the text arrives in parts and adds up to the whole', async () => {
    const result = streamText({ model: provider()('test-chat'), prompt: 'Say hello', maxRetries: 0 });
    const parts: string[] = [];
    for await (const p of result.textStream) parts.push(p);
    assert.ok(parts.length > 1, `${parts.length} parts`);
    assert.equal(parts.join(''), await result.text);
    assert.ok(((await result.usage).outputTokens ?? 0) > 0);
  });

  test('a tool-call round trip: the model calls the tool, gets its result, answers in text', () => weatherRoundTrip(provider()('test-chat')));

  test('a second turn sends the first answer back as an item_reference, which the gateway resolves from its store', async () => {
    const sent: string[] = [];
    const model = createOpenAI({
      baseURL: gw.baseURL,
      apiKey: gw.key,
      fetch: async (url, init) => {
        sent.push(String(init?.body ?? ''));
        return fetch(url, init);
      },
    })('test-chat');
    const first = await generateText({ model, prompt: 'My name is Ada.', maxRetries: 0 });
    const second = await generateText({ model, messages: [{ role: 'user', content: 'My name is Ada.' }, ...first.response.messages, { role: 'user', content: 'What is my name?' }], maxRetries: 0 });
    assert.match(sent[1] ?? '', /"item_reference"/, 'the earlier answer went back by reference');
    assert.ok(second.text.length > 0);
    // The referenced answer reached the engine: the second prompt is longer than the first answer plus both questions alone would be without it.
    assert.ok((second.usage.inputTokens ?? 0) > (first.usage.inputTokens ?? 0) + (first.usage.outputTokens ?? 0) - 1, JSON.stringify([first.usage, second.usage]));
  });

  test('an error before the stream: status and the contract code reach the caller', async () => {
    const err = await generateText({ model: provider()('no-such-model'), prompt: 'hi', maxRetries: 0 }).catch((e: unknown) => e);
    assert.ok(APICallError.isInstance(err), String(err));
    assert.equal(err.statusCode, 404);
    assert.equal(JSON.parse(err.responseBody ?? '{}').error.code, 'model_not_found');
  });

  test('a failure mid-stream is an error part, not a quietly shorter answer', async () => {
    const result = streamText({ model: provider()('test-chat'), prompt: 'Say hello', maxRetries: 0, headers: fault('cut-stream'), onError: () => {} });
    let error: unknown;
    for await (const part of result.fullStream) if (part.type === 'error') error = part.error;
    assert.ok(error !== undefined, 'an error part');
    assert.match(JSON.stringify(error), /upstream_invalid_response/);
  });
});

describe('Vercel AI SDK', () => {
  const provider = () => createOpenAICompatible({ name: 'sluice', baseURL: gw.baseURL, apiKey: gw.key, includeUsage: true });

  test('a call: text and usage', async () => {
    const r = await generateText({ model: provider().chatModel('test-chat'), prompt: 'Say hello', maxOutputTokens: 8, maxRetries: 0 });
    assert.ok(r.text.length > 0);
    assert.ok((r.usage.inputTokens ?? 0) > 0 && (r.usage.outputTokens ?? 0) > 0, JSON.stringify(r.usage));
    assert.equal(r.finishReason, 'length');
  });

  test('a stream: the text arrives in parts and adds up to the whole', async () => {
    const result = streamText({ model: provider().chatModel('test-chat'), prompt: 'Say hello', maxRetries: 0 });
    const parts: string[] = [];
    for await (const p of result.textStream) parts.push(p);
    assert.ok(parts.length > 1, `${parts.length} parts`);
    assert.equal(parts.join(''), await result.text);
    assert.ok(((await result.usage).outputTokens ?? 0) > 0);
  });

  test('a tool-call round trip: the model calls the tool, gets its result, answers in text', () => weatherRoundTrip(provider().chatModel('test-chat')));

  test('an error before the stream: status and the contract code reach the caller', async () => {
    const err = await generateText({ model: provider().chatModel('no-such-model'), prompt: 'hi', maxRetries: 0 }).catch((e: unknown) => e);
    assert.ok(APICallError.isInstance(err), String(err));
    assert.equal(err.statusCode, 404);
    assert.equal(JSON.parse(err.responseBody ?? '{}').error.code, 'model_not_found');
    assert.equal(err.responseHeaders?.['x-should-retry'], 'false');
  });

  test('a failure mid-stream is an error part, not a quietly shorter answer', async () => {
    const result = streamText({ model: provider().chatModel('test-chat'), prompt: 'Say hello', maxRetries: 0, headers: fault('cut-stream'), onError: () => {} });
    const types: string[] = [];
    let error: unknown;
    for await (const part of result.fullStream) {
      types.push(part.type);
      if (part.type === 'error') error = part.error;
    }
    assert.ok(types.includes('text-delta'), 'some text came first');
    assert.ok(error !== undefined, `an error part: ${types.join(',')}`);
    assert.match(JSON.stringify(error), /upstream_invalid_response/);
    assert.equal(await result.finishReason, 'error');
  });
});

describe('LangChain', () => {
  const chat = (extra: Record<string, unknown> = {}) => new ChatOpenAI({ model: 'test-chat', apiKey: gw.key, configuration: { baseURL: gw.baseURL }, maxRetries: 0, ...extra });

  test('a call: text and usage', async () => {
    const msg = await chat({ maxTokens: 8 }).invoke('Say hello');
    assert.equal(typeof msg.content, 'string');
    assert.ok((msg.content as string).length > 0);
    assert.ok((msg.usage_metadata?.input_tokens ?? 0) > 0 && (msg.usage_metadata?.output_tokens ?? 0) > 0);
  });

  test('a stream: the text arrives in chunks', async () => {
    const chunks: string[] = [];
    for await (const c of await chat({ streamUsage: true }).stream('Say hello')) chunks.push(String(c.content));
    assert.ok(chunks.filter(Boolean).length > 1, `${chunks.length} chunks`);
  });

  test('a tool-call round trip: the model calls the tool, gets its result, answers in text', async () => {
    const weather = { type: 'function' as const, function: { name: 'get_weather', description: 'The weather in a city', parameters: weatherParameters } };
    const question = new HumanMessage('What is the weather in Paris?');
    const first = await chat().bindTools([weather], { tool_choice: 'required' }).invoke([question]);
    assert.equal(first.tool_calls?.length, 1);
    const call = first.tool_calls![0]!;
    assert.equal(call.name, 'get_weather');
    assert.equal(typeof call.args.city, 'string');
    const answer = await chat().bindTools([weather]).invoke([question, new AIMessage(first), new ToolMessage({ tool_call_id: call.id!, content: '{"temperature":21}' })]);
    assert.equal(answer.tool_calls?.length ?? 0, 0, 'after the tool result, text');
    assert.ok(String(answer.content).length > 0);
  });

  test('an error before the stream: status and the contract code reach the caller', async () => {
    const err = await new ChatOpenAI({ model: 'no-such-model', apiKey: gw.key, configuration: { baseURL: gw.baseURL }, maxRetries: 0 }).invoke('hi').catch((e: unknown) => e) as { status?: number; code?: string; error?: { code?: string } };
    assert.equal(err.status, 404);
    assert.equal(err.code ?? err.error?.code, 'model_not_found');
  });

  test('a failure mid-stream throws', async () => {
    const model = chat({ configuration: { baseURL: gw.baseURL, defaultHeaders: fault('cut-stream') } });
    const chunks: string[] = [];
    await assert.rejects(async () => {
      for await (const c of await model.stream('Say hello')) chunks.push(String(c.content));
    }, /inference engine ended the stream early|upstream_invalid_response/);
    assert.ok(chunks.length > 0, 'some text came first');
  });
});
