// The Responses API (/v1/responses) through the official `openai` client and raw HTTP, on the
// simulator: answers and every streamed event validated against OpenAI's published schema; tool
// calls; previous_response_id (earlier turns reach the engine and are billed as prompt tokens);
// retrieval, input items and deletion; tenants isolated; errors before and after the stream.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI, { APIError } from 'openai';
import { createKeyFor } from '../src/keys/bootstrap.js';
import { http, startTestGateway, type TestGateway } from './helpers/gateway.js';
import { assertValid, assertValidResponseEvent } from './helpers/openapi-schema.js';

let gw: TestGateway;
let client: OpenAI;
let other: OpenAI;
let otherKey: string;

before(async () => {
  gw = await startTestGateway();
  client = gw.client();
  otherKey = (await createKeyFor(gw.store, 'someone-else')).key;
  other = gw.client({ apiKey: otherKey });
});
after(() => gw.close());

const weather = {
  type: 'function' as const,
  name: 'get_weather',
  description: 'The weather in a city',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false },
  strict: true,
};

const fault = (name: string) => ({ headers: { 'x-sluice-fault': name } });

type Event = { type: string; sequence_number: number } & Record<string, any>;

/** A response stored off the request path: looked up until it is there (at most ~2 s). */
async function storedEventually(id: string) {
  for (let i = 0; ; i++) {
    try {
      return await client.responses.retrieve(id);
    } catch (err) {
      if (i >= 40 || !(err instanceof APIError && err.status === 404)) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

async function collect(stream: AsyncIterable<unknown>): Promise<Event[]> {
  const events: Event[] = [];
  for await (const e of stream) events.push(e as Event);
  return events;
}

describe('POST /v1/responses, not streamed', () => {
  test('a text answer: the published Response shape, its text, usage and the ledger row', async () => {
    const r = await client.responses.create({ model: 'test-chat', input: 'Say hello', max_output_tokens: 400 });
    assertValid('Response', r, 'the response');
    assert.equal(r.object, 'response');
    assert.match(r.id, /^resp_[0-9a-f]{48}$/);
    assert.equal(r.status, 'completed');
    assert.ok(r.output_text.length > 0, 'the SDK finds its text');
    const message = r.output[0]!;
    assert.equal(message.type, 'message');
    assert.ok(r.usage && r.usage.input_tokens > 0 && r.usage.output_tokens > 0);
    assert.equal(r.usage.total_tokens, r.usage.input_tokens + r.usage.output_tokens);
    await gw.settled();
    const rows = await gw.store.db.selectFrom('ledger').selectAll().where('endpoint', '=', 'responses').execute();
    assert.ok(rows.some((row) => row.input_tokens === r.usage!.input_tokens && row.output_tokens === r.usage!.output_tokens && row.status === 200), 'the ledger has it, as a responses request');
  });

  test('max_output_tokens reached: status incomplete with its reason, as OpenAI answers', async () => {
    const r = await client.responses.create({ model: 'test-chat', input: 'Tell me a long story', max_output_tokens: 3 });
    assertValid('Response', r);
    assert.equal(r.status, 'incomplete');
    assert.deepEqual(r.incomplete_details, { reason: 'max_output_tokens' });
    assert.equal(r.usage?.output_tokens, 3);
  });

  test('a tool call, then its output sent back with previous_response_id: the model answers in text', async () => {
    const first = await client.responses.create({ model: 'test-chat', input: 'What is the weather in Paris?', tools: [weather], tool_choice: 'required' });
    assertValid('Response', first);
    const call = first.output.find((o) => o.type === 'function_call');
    assert.ok(call && call.type === 'function_call', JSON.stringify(first.output));
    assert.equal(call.name, 'get_weather');
    assert.equal(typeof JSON.parse(call.arguments).city, 'string');
    assert.deepEqual(first.tools.map((t) => (t as { name: string }).name), ['get_weather']);

    const second = await client.responses.create({
      model: 'test-chat',
      previous_response_id: first.id,
      input: [{ type: 'function_call_output', call_id: call.call_id, output: JSON.stringify({ temperature: 21 }) }],
      tools: [weather],
      tool_choice: 'none',
    });
    assertValid('Response', second);
    assert.equal(second.previous_response_id, first.id);
    assert.ok(second.output_text.length > 0);
    // The earlier turn went to the engine again: it is billed as prompt tokens.
    assert.ok(second.usage!.input_tokens > first.usage!.input_tokens, `${second.usage!.input_tokens} > ${first.usage!.input_tokens}`);
  });

  test('previous_response_id carries the conversation; stored turns are retrieved, listed and deleted', async () => {
    const one = await client.responses.create({ model: 'test-chat', input: 'My name is Ada.', metadata: { topic: 'names' } });
    const two = await client.responses.create({ model: 'test-chat', input: 'What is my name?', previous_response_id: one.id });
    const alone = await client.responses.create({ model: 'test-chat', input: 'What is my name?' });
    assert.ok(two.usage!.input_tokens > alone.usage!.input_tokens + one.usage!.output_tokens - 1, 'turn one (input and output) counted again');

    const got = await client.responses.retrieve(one.id);
    assertValid('Response', got);
    assert.deepEqual(got, one, 'retrieved as it was answered');
    assert.deepEqual(got.metadata, { topic: 'names' });

    const items = await client.responses.inputItems.list(two.id);
    assertValid('ResponseItemList', JSON.parse(JSON.stringify({ object: 'list', data: items.data, first_id: items.data[0]?.id, last_id: items.data.at(-1)?.id, has_more: items.has_more })));
    assert.equal(items.data.length, 1);
    const item = items.data[0] as { type: string; role: string; content: Array<{ text: string }> };
    assert.equal(item.role, 'user');
    assert.equal(item.content[0]!.text, 'What is my name?');

    const deleted = await http(`${gw.baseURL}/responses/${one.id}`, { method: 'DELETE', key: gw.key });
    assert.equal(deleted.status, 200);
    assert.deepEqual(deleted.body, { id: one.id, object: 'response', deleted: true });
    const gone = await client.responses.retrieve(one.id).catch((e: unknown) => e);
    assert.ok(gone instanceof APIError && gone.status === 404 && gone.code === 'response_not_found', String(gone));
  });

  test('store: false keeps nothing', async () => {
    const r = await client.responses.create({ model: 'test-chat', input: 'hi', store: false });
    assert.equal((r as unknown as { store: boolean }).store, false);
    const err = await client.responses.retrieve(r.id).catch((e: unknown) => e);
    assert.ok(err instanceof APIError && err.status === 404);
  });
});

describe('POST /v1/responses, streamed', () => {
  test('the event sequence: every event valid, numbered in order, deltas adding up to the text', async () => {
    const events = await collect(await client.responses.create({ model: 'test-chat', input: 'Say hello', stream: true }));
    for (const e of events) assertValidResponseEvent(e, e.type);
    assert.deepEqual(events.map((e) => e.sequence_number), events.map((_, i) => i));
    const types = events.map((e) => e.type);
    assert.deepEqual(types.slice(0, 4), ['response.created', 'response.in_progress', 'response.output_item.added', 'response.content_part.added']);
    assert.deepEqual(types.slice(-4), ['response.output_text.done', 'response.content_part.done', 'response.output_item.done', 'response.completed']);
    const deltas = events.filter((e) => e.type === 'response.output_text.delta').map((e) => e.delta as string);
    assert.ok(deltas.length > 1);
    const done = events.find((e) => e.type === 'response.output_text.done')!;
    assert.equal(deltas.join(''), done.text);
    const completed = events.at(-1)!.response;
    assert.equal(completed.status, 'completed');
    assert.equal(completed.output[0].content[0].text, done.text);
    assert.ok(completed.usage.output_tokens > 0);
    // Stored as completed: retrieval gives the same final object (the SDK adds output_text to what it retrieves).
    const { output_text: _sdkOnly, ...retrieved } = await client.responses.retrieve(completed.id);
    assert.deepEqual(retrieved, completed);
  });

  test('a streamed tool call: function_call_arguments deltas and done, then a completed response', async () => {
    const events = await collect(await client.responses.create({ model: 'test-chat', input: 'Weather in Rome?', tools: [weather], tool_choice: 'required', stream: true }));
    for (const e of events) assertValidResponseEvent(e, e.type);
    const added = events.find((e) => e.type === 'response.output_item.added' && e.item.type === 'function_call')!;
    assert.ok(added, events.map((e) => e.type).join(','));
    const args = events.filter((e) => e.type === 'response.function_call_arguments.delta' && e.item_id === added.item.id).map((e) => e.delta).join('');
    const done = events.find((e) => e.type === 'response.function_call_arguments.done')!;
    assert.equal(done.arguments, args);
    assert.equal(typeof JSON.parse(args).city, 'string');
    assert.equal(events.at(-1)!.type, 'response.completed');
  });

  test('max_output_tokens reached: the stream ends with response.incomplete', async () => {
    const events = await collect(await client.responses.create({ model: 'test-chat', input: 'A long story', max_output_tokens: 3, stream: true }));
    for (const e of events) assertValidResponseEvent(e, e.type);
    assert.equal(events.at(-1)!.type, 'response.incomplete');
    assert.deepEqual(events.at(-1)!.response.incomplete_details, { reason: 'max_output_tokens' });
  });

  test('a failure mid-stream: an error event with the catalog code and request id, then response.failed; the SDK raises it', async () => {
    const res = await http(`${gw.baseURL}/responses`, { method: 'POST', key: gw.key, headers: fault('cut-stream').headers, body: JSON.stringify({ model: 'test-chat', input: 'Say hello', stream: true }) });
    assert.equal(res.status, 200);
    const events = res.text.split('\n\n').filter(Boolean).map((block) => {
      const [eventLine, dataLine] = block.split('\n');
      const e = JSON.parse(dataLine!.slice('data: '.length)) as Event;
      assert.equal(eventLine, `event: ${e.type}`, 'framed with its event name');
      return e;
    });
    for (const e of events) assertValidResponseEvent(e, e.type);
    const [error, failed] = events.slice(-2);
    assert.equal(error!.type, 'error');
    assert.equal(error!.code, 'upstream_invalid_response');
    assert.equal(error!.error.request_id, res.headers.get('x-request-id'));
    assert.equal(failed!.type, 'response.failed');
    assert.equal(failed!.response.status, 'failed');
    assert.ok(events.some((e) => e.type === 'response.output_text.delta'), 'text came first');
    // Kept as failed (stored without holding up the error; looked up until it lands).
    const stored = await storedEventually(failed!.response.id as string);
    assert.equal(stored.status, 'failed');
    assert.deepEqual(stored.error, failed!.response.error);

    const thrown = await collect(await client.responses.create({ model: 'test-chat', input: 'Say hello', stream: true }, fault('cut-stream'))).catch((e: unknown) => e);
    assert.ok(thrown instanceof APIError, String(thrown));
    assert.equal(thrown.code, 'upstream_invalid_response');
  });
});

describe('errors and isolation', () => {
  test('a field Sluice does not serve, a built-in tool, a bad value: 400 naming the field', async () => {
    for (const [body, param] of [
      [{ model: 'test-chat', input: 'hi', background: true }, 'background'],
      [{ model: 'test-chat', input: 'hi', tools: [{ type: 'web_search' }] }, 'tools[0].type'],
      [{ model: 'test-chat', input: 'hi', temperature: 3 }, 'temperature'],
      [{ model: 'test-chat', input: [{ type: 'mystery', id: 'x' }] }, 'input[0]'],
      [{ model: 'test-chat' }, 'input'],
    ] as const) {
      const r = await http(`${gw.baseURL}/responses`, { method: 'POST', key: gw.key, body: JSON.stringify(body) });
      assert.equal(r.status, 400, r.text);
      assert.equal(r.body.error.code, 'invalid_parameter');
      assert.ok(String(r.body.error.param).startsWith(param), `${r.body.error.param} for ${JSON.stringify(body)}`);
      assertValid('ErrorResponse', r.body);
    }
    const missing = await client.responses.create({ model: 'no-such-model', input: 'hi' }).catch((e: unknown) => e);
    assert.ok(missing instanceof APIError && missing.status === 404 && missing.code === 'model_not_found');
  });

  test("another account's response is a 404 exactly like a missing one; its id as previous_response_id a 400 like an unknown one", async () => {
    const mine = await client.responses.create({ model: 'test-chat', input: 'private' });
    const theirs = await http(`${gw.baseURL}/responses/${mine.id}`, { key: otherKey });
    const missing = await http(`${gw.baseURL}/responses/resp_${'0'.repeat(48)}`, { key: otherKey });
    assert.equal(theirs.status, 404);
    assert.equal(missing.status, 404);
    assert.equal(theirs.body.error.code, 'response_not_found');
    assert.equal(theirs.body.error.message.replace(mine.id, 'ID'), missing.body.error.message.replace(`resp_${'0'.repeat(48)}`, 'ID'));
    for (const path of [`/responses/${mine.id}/input_items`]) assert.equal((await http(`${gw.baseURL}${path}`, { key: otherKey })).status, 404);
    assert.equal((await http(`${gw.baseURL}/responses/${mine.id}`, { method: 'DELETE', key: otherKey })).status, 404);
    assert.equal((await client.responses.retrieve(mine.id)).id, mine.id, 'still there for its owner');

    const errs = [];
    for (const prev of [mine.id, `resp_${'1'.repeat(48)}`]) {
      const e = await other.responses.create({ model: 'test-chat', input: 'hi', previous_response_id: prev }).catch((x: unknown) => x);
      assert.ok(e instanceof APIError && e.status === 400 && e.param === 'previous_response_id', String(e));
      errs.push(e.message.replace(prev, 'ID'));
    }
    assert.equal(errs[0], errs[1]);
  });

  test('an unknown path names the endpoints the gateway serves', async () => {
    const r = await http(`${gw.baseURL}/responsez`, { method: 'POST', key: gw.key, body: '{}' });
    assert.equal(r.status, 404);
    assert.equal(r.body.error.code, 'route_not_found');
    for (const p of ['POST /v1/chat/completions', 'POST /v1/responses', 'GET /v1/responses/{id}', 'GET /v1/models']) assert.ok(r.body.error.message.includes(p), r.body.error.message);
    assert.ok(!r.body.error.message.includes('/admin'));
  });
});
