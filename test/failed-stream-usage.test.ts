// A stream that fails after some output is billed for that output; a client that asked for
// stream_options.include_usage is told what it was billed, in a usage chunk before the error event.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';

let gw: TestGateway;
before(async () => {
  gw = await startTestGateway();
});
after(() => gw.close());

const body = (includeUsage: boolean) => JSON.stringify({
  model: 'test-chat',
  messages: [{ role: 'user', content: 'Tell me a long story about a fox. '.repeat(20) }],
  max_tokens: 40,
  stream: true,
  ...(includeUsage && { stream_options: { include_usage: true } }),
});

async function events(includeUsage: boolean): Promise<{ payloads: string[]; requestId: string }> {
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${gw.key}`, 'content-type': 'application/json', 'x-sluice-fault': 'cut-stream' },
    body: body(includeUsage),
  });
  assert.equal(res.status, 200);
  const text = await res.text();
  return { payloads: text.split('\n\n').filter(Boolean).map((e) => e.replace(/^data: /, '')), requestId: res.headers.get('x-request-id')! };
}

test('include_usage: the billed usage comes before the error event, and matches the ledger', async () => {
  const { payloads, requestId } = await events(true);
  const errorAt = payloads.findIndex((p) => p.includes('"error"'));
  assert.ok(errorAt > 1, 'some output, then the error');
  assert.equal(payloads.at(-1), '[DONE]');
  const usageChunk = JSON.parse(payloads[errorAt - 1]!);
  assert.deepEqual(usageChunk.choices, []);
  assert.equal(usageChunk.object, 'chat.completion.chunk');
  assert.equal(usageChunk.id, JSON.parse(payloads[0]!).id, 'the same stream id');
  const { prompt_tokens, completion_tokens, total_tokens } = usageChunk.usage;
  assert.ok(prompt_tokens > 100, `the prompt was counted: ${prompt_tokens}`);
  assert.equal(completion_tokens, errorAt - 1, 'one token per content event delivered');
  assert.equal(total_tokens, prompt_tokens + completion_tokens);
  await gw.settled();
  const row = await gw.store.usage.find(requestId);
  assert.equal(row?.input_tokens, prompt_tokens, 'the ledger billed what the chunk says');
  assert.equal(row?.output_tokens, completion_tokens);
});

test('without include_usage no usage chunk is sent', async () => {
  const { payloads } = await events(false);
  assert.ok(payloads.every((p) => !p.includes('"usage"')));
  assert.match(payloads.at(-2)!, /"error"/);
});

test('the openai client sees the usage chunk, then an error: never a silently truncated answer', async () => {
  const client = gw.client();
  const stream = await client.chat.completions.create(
    { model: 'test-chat', messages: [{ role: 'user', content: 'hi' }], max_tokens: 40, stream: true, stream_options: { include_usage: true } },
    { headers: { 'x-sluice-fault': 'cut-stream' } },
  );
  const seen: OpenAI.ChatCompletionChunk[] = [];
  await assert.rejects(async () => {
    for await (const chunk of stream) seen.push(chunk);
  }, (err: unknown) => err instanceof OpenAI.APIError);
  assert.ok(seen.at(-1)?.usage && seen.at(-1)!.usage!.completion_tokens > 0, 'the last chunk before the error is the usage');
});
