// The OpenAI endpoints through the official openai client, unchanged.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { http, startTestGateway, type TestGateway } from './helpers/gateway.js';

let gw: TestGateway;
let client: OpenAI;
before(async () => {
  gw = await startTestGateway();
  client = gw.client();
});
after(() => gw.close());

test('chat completion, non-streaming, with usage', async () => {
  const r = await client.chat.completions.create({ model: 'test-chat', messages: [{ role: 'user', content: 'Hello there' }], max_tokens: 5 });
  assert.equal(r.object, 'chat.completion');
  assert.equal(r.model, 'test-chat');
  assert.equal(r.choices.length, 1);
  assert.equal(r.choices[0]!.message.role, 'assistant');
  assert.ok(r.choices[0]!.message.content!.length > 0);
  assert.equal(r.choices[0]!.finish_reason, 'length');
  assert.equal(r.usage!.completion_tokens, 5);
  assert.ok(r.usage!.prompt_tokens > 0);
  assert.equal(r.usage!.total_tokens, r.usage!.prompt_tokens + 5);
});

test('max_completion_tokens, n and stop', async () => {
  const r = await client.chat.completions.create({ model: 'test-chat', messages: [{ role: 'user', content: 'x' }], max_completion_tokens: 3, n: 2 });
  assert.equal(r.choices.length, 2);
  assert.equal(r.usage!.completion_tokens, 6);
  const full = await client.chat.completions.create({ model: 'test-chat', messages: [{ role: 'user', content: 'stop test' }], max_tokens: 30 });
  const text = full.choices[0]!.message.content!;
  const word = text.trim().split(/\s+/)[2]!;
  const cut = await client.chat.completions.create({ model: 'test-chat', messages: [{ role: 'user', content: 'stop test' }], max_tokens: 30, stop: [word] });
  assert.equal(cut.choices[0]!.finish_reason, 'stop');
  assert.ok(!cut.choices[0]!.message.content!.includes(word), 'the stop sequence is not in the output');
  assert.ok(text.startsWith(cut.choices[0]!.message.content!), 'the output is cut, not changed');
});

test('chat completion, streaming, with include_usage', async () => {
  const stream = await client.chat.completions.create({ model: 'test-chat', messages: [{ role: 'user', content: 'Stream please' }], max_tokens: 6, stream: true, stream_options: { include_usage: true } });
  let text = '';
  let pieces = 0;
  let usage: OpenAI.CompletionUsage | undefined | null;
  let finish: string | null = null;
  for await (const chunk of stream) {
    assert.equal(chunk.model, 'test-chat');
    if (chunk.usage) usage = chunk.usage;
    for (const c of chunk.choices) {
      if (c.delta.content) {
        text += c.delta.content;
        pieces++;
      }
      if (c.finish_reason) finish = c.finish_reason;
    }
  }
  assert.ok(text.length > 0);
  assert.equal(finish, 'length');
  assert.equal(usage?.completion_tokens, 6);
  assert.equal(pieces, 6, 'one content piece per completion token');
});

test('streaming without include_usage sends no usage chunk', async () => {
  const stream = await client.chat.completions.create({ model: 'test-chat', messages: [{ role: 'user', content: 'x' }], max_tokens: 3, stream: true });
  for await (const chunk of stream) assert.ok(!chunk.usage, 'no usage chunk');
});

test('stream headers and [DONE] on the wire', async () => {
  const res = await fetch(`${gw.baseURL}/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${gw.key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'test-chat', messages: [{ role: 'user', content: 'x' }], max_tokens: 2, stream: true }),
  });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
  assert.match(res.headers.get('x-request-id') ?? '', /^req_/);
  const text = await res.text();
  assert.ok(text.endsWith('data: [DONE]\n\n'));
});

test('completions, non-streaming and streaming', async () => {
  const r = await client.completions.create({ model: 'test-chat', prompt: 'Once upon a time', max_tokens: 4 });
  assert.equal(r.object, 'text_completion');
  assert.equal(r.usage!.completion_tokens, 4);
  assert.ok(r.choices[0]!.text.length > 0);
  const s = await client.completions.create({ model: 'test-chat', prompt: ['a', 'b'], max_tokens: 2, stream: true, stream_options: { include_usage: true } });
  let usage: OpenAI.CompletionUsage | undefined;
  let text = '';
  for await (const c of s) {
    if (c.usage) usage = c.usage;
    text += c.choices.map((x) => x.text).join('');
  }
  assert.ok(text.length > 0);
  assert.equal(usage?.completion_tokens, 4, 'two prompts, two tokens each');
});

test('embeddings: the SDK default (base64) and float', async () => {
  const viaSdk = await client.embeddings.create({ model: 'test-embed', input: ['hello', 'world'] });
  assert.equal(viaSdk.data.length, 2);
  assert.equal(viaSdk.data[0]!.embedding.length, 768);
  const norm = Math.sqrt(viaSdk.data[0]!.embedding.reduce((a, x) => a + x * x, 0));
  assert.ok(Math.abs(norm - 1) < 1e-4);
  const floats = await http(`${gw.baseURL}/embeddings`, { method: 'POST', key: gw.key, body: JSON.stringify({ model: 'test-embed', input: 'hello', encoding_format: 'float', dimensions: 8 }) });
  assert.equal(floats.status, 200);
  assert.equal(floats.body.data[0].embedding.length, 8);
  assert.ok(floats.body.usage.prompt_tokens > 0);
});

test('models: list and get', async () => {
  const list = await client.models.list();
  const ids = list.data.map((m) => m.id).sort();
  assert.deepEqual(ids, ['test-chat', 'test-embed']);
  const one = await client.models.retrieve('test-chat');
  assert.equal(one.id, 'test-chat');
  await assert.rejects(client.models.retrieve('nope'), (e: unknown) => e instanceof OpenAI.NotFoundError);
});

test('health and ready', async () => {
  assert.deepEqual((await http(`${gw.url}/health`)).body, { status: 'ok' });
  assert.deepEqual((await http(`${gw.url}/ready`)).body, { status: 'ready' });
});

test('SDK error classes for contract errors', async () => {
  const noKey = new OpenAI({ baseURL: gw.baseURL, apiKey: 'sk-sluice-nope', maxRetries: 0 });
  await assert.rejects(noKey.models.list(), (e: unknown) => e instanceof OpenAI.AuthenticationError && e.status === 401 && (e as InstanceType<typeof OpenAI.APIError>).code === 'invalid_api_key');
  await assert.rejects(client.chat.completions.create({ model: 'test-chat', messages: [] }), (e: unknown) => e instanceof OpenAI.BadRequestError && e.param === 'messages' && e.code === 'invalid_parameter');
  await assert.rejects(client.chat.completions.create({ model: 'missing', messages: [{ role: 'user', content: 'x' }] }), (e: unknown) => e instanceof OpenAI.NotFoundError && e.code === 'model_not_found');
});

test('concurrent streams are independent', async () => {
  const runs = await Promise.all(Array.from({ length: 20 }, async (_, i) => {
    const s = await client.chat.completions.create({ model: 'test-chat', messages: [{ role: 'user', content: `req ${i}` }], max_tokens: 5, stream: true, stream_options: { include_usage: true } });
    let n = 0;
    for await (const c of s) if (c.usage) n = c.usage.completion_tokens;
    return n;
  }));
  assert.deepEqual(runs, Array(20).fill(5));
});

test('metrics count requests by model, status and code', async () => {
  await http(`${gw.baseURL}/chat/completions`, { method: 'POST', key: gw.key, body: JSON.stringify({ model: 'nope', messages: [{ role: 'user', content: 'x' }] }) });
  const res = await fetch(`${gw.url}/metrics`);
  const text = await res.text();
  assert.match(text, /sluice_requests_total\{endpoint="chat",model="test-chat",deployment="test-chat-sim",status="200",code=""\} \d+/);
  assert.match(text, /sluice_requests_total\{endpoint="chat",model="",deployment="",status="404",code="model_not_found"\} [1-9]/);
  assert.match(text, /gen_ai_client_token_usage_sum\{gen_ai_operation_name="chat",gen_ai_request_model="test-chat",gen_ai_token_type="output"\} [1-9]/);
  assert.match(text, /gen_ai_server_time_to_first_token_seconds_count\{gen_ai_operation_name="chat",gen_ai_request_model="test-chat"\} [1-9]/);
});
