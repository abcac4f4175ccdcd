// Deployments whose engine speaks the Responses API natively (`responses: native`): requests go to
// the engine's own /v1/responses (the standalone simulator serves one, as vLLM does), not as chat,
// while the gateway keeps ownership of ids, storage and previous_response_id. Answers and events
// validated against OpenAI's published schema, through the official client and raw HTTP.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI, { APIError } from 'openai';
import { parseConfigDocument } from '../src/config/load.js';
import { startSimServer, type SimServer } from '../src/sim/sim-server.js';
import { SINGLE_ATTEMPT } from './helpers/routing.js';
import { http, startTestGateway, type TestGateway } from './helpers/gateway.js';
import { assertValid, assertValidResponseEvent } from './helpers/openapi-schema.js';

let sim: SimServer;
let gw: TestGateway;
let client: OpenAI;
/** A Responses engine that goes wrong: `/crash/` answers 500; `/early/` streams response.created, then [DONE]. */
let stub: Server;
const stubBodies: Array<Record<string, unknown>> = [];

type Event = { type: string; sequence_number: number } & Record<string, any>;

const NATIVE = '/v1/responses';
const CHAT = '/v1/chat/completions';
const hits = (path: string) => sim.hits.get(path) ?? 0;
const fault = (name: string) => ({ headers: { 'x-sluice-fault': name } });

async function collect(stream: AsyncIterable<unknown>): Promise<Event[]> {
  const events: Event[] = [];
  for await (const e of stream) events.push(e as Event);
  return events;
}

before(async () => {
  sim = await startSimServer({ faultHeader: true, settings: { ttftMs: 1, itlMs: 1 } });
  stub = createServer((req, res) => {
    let text = '';
    req.on('data', (c: Buffer) => (text += c.toString()));
    req.on('end', () => {
      stubBodies.push(JSON.parse(text) as Record<string, unknown>);
      if (req.url!.startsWith('/crash/')) {
        res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":{"message":"boom"}}');
        return;
      }
      const created = { type: 'response.created', sequence_number: 0, response: { id: 'resp_engine', object: 'response', status: 'in_progress', output: [] } };
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(`event: response.created\ndata: ${JSON.stringify(created)}\n\ndata: [DONE]\n\n`);
    });
  });
  await new Promise<void>((r) => stub.listen(0, '127.0.0.1', r));
  const stubUrl = `http://127.0.0.1:${(stub.address() as AddressInfo).port}`;
  const up = (id: string, extra: Record<string, unknown>) => ({
    id, ...SINGLE_ATTEMPT, deployments: [{ id: 'up', engine: 'openai', baseUrl: sim.url, faultHeader: true, upstreamModel: 'sim', ...extra }],
  });
  const stubModel = (id: string, path: string, extra: Record<string, unknown> = {}) => ({
    id, ...SINGLE_ATTEMPT, ...extra, deployments: [{ id: 'stub', engine: 'openai', baseUrl: `${stubUrl}/${path}/v1`, responses: 'native' }],
  });
  gw = await startTestGateway({
    models: [
      up('native-chat', { responses: 'native' }), up('native-whole', { responses: 'native', jsonFromStream: false }), up('translated-chat', {}),
      stubModel('crashing', 'crash', { fallbacks: ['fallback-target'], retries: { maxAttempts: 2, backoffBaseMs: 0, backoffMaxMs: 0 } }), stubModel('fallback-target', 'early'), stubModel('cut-short', 'early'),
    ],
  });
  client = gw.client();
});
after(async () => {
  await gw.close();
  await sim.close();
  await new Promise((r) => stub.close(r));
});

describe('responses: native', () => {
  test('not streamed: the engine is asked on its /v1/responses; the answer is the gateway\'s, stored and billed', async () => {
    const [native, chat] = [hits(NATIVE), hits(CHAT)];
    const r = await client.responses.create({ model: 'native-chat', input: 'Say hello', max_output_tokens: 50, metadata: { via: 'native' } });
    assert.equal(hits(NATIVE), native + 1, 'one request to the engine\'s Responses API');
    assert.equal(hits(CHAT), chat, 'none as chat');
    assertValid('Response', r);
    assert.match(r.id, /^resp_[0-9a-f]{48}$/);
    assert.equal(r.model, 'native-chat', 'the client\'s model name, not the upstream\'s');
    assert.equal((r as unknown as { store: boolean }).store, true, 'stored by the gateway (the engine was sent store: false)');
    assert.deepEqual(r.metadata, { via: 'native' });
    assert.ok(r.output_text.length > 0);
    assert.ok(r.usage && r.usage.input_tokens > 0 && r.usage.output_tokens > 0);

    assert.deepEqual(await client.responses.retrieve(r.id), r, 'retrieved as answered');
    await gw.settled();
    const rows = await gw.store.db.selectFrom('ledger').selectAll().where('model', '=', 'native-chat').where('endpoint', '=', 'responses').execute();
    assert.ok(rows.some((row) => row.input_tokens === r.usage!.input_tokens && row.output_tokens === r.usage!.output_tokens), 'billed with the engine\'s usage');
  });

  test('an engine asked for whole answers (jsonFromStream: false): its Response, retold', async () => {
    const native = hits(NATIVE);
    const r = await client.responses.create({ model: 'native-whole', input: 'Say hello', max_output_tokens: 5 });
    assert.equal(hits(NATIVE), native + 1);
    assertValid('Response', r);
    assert.equal(r.model, 'native-whole');
    assert.equal(r.status, 'incomplete');
    assert.deepEqual(r.incomplete_details, { reason: 'max_output_tokens' });
    assert.equal(r.usage?.output_tokens, 5);
  });

  test('streamed: the engine\'s events, each valid, numbered from 0, carrying the gateway\'s response id', async () => {
    const native = hits(NATIVE);
    const events = await collect(await client.responses.create({ model: 'native-chat', input: 'Say hello', stream: true }));
    assert.equal(hits(NATIVE), native + 1);
    for (const e of events) assertValidResponseEvent(e, e.type);
    assert.deepEqual(events.map((e) => e.sequence_number), events.map((_, i) => i));
    assert.equal(events[0]!.type, 'response.created');
    const last = events.at(-1)!;
    assert.equal(last.type, 'response.completed');
    assert.equal(events[0]!.response.id, last.response.id);
    assert.equal(last.response.model, 'native-chat');
    const deltas = events.filter((e) => e.type === 'response.output_text.delta').map((e) => e.delta as string).join('');
    assert.equal(deltas, last.response.output[0].content[0].text);
    const stored = await client.responses.retrieve(last.response.id);
    assert.deepEqual(stored.output, last.response.output, 'the completed response is the one stored');
  });

  test('previous_response_id and item references: the gateway sends the engine the whole conversation', async () => {
    // The simulator refuses previous_response_id and item_reference (it stores nothing): these
    // succeed only because the gateway resolved them.
    const one = await client.responses.create({ model: 'native-chat', input: 'My name is Ada.' });
    const two = await client.responses.create({ model: 'native-chat', input: 'What is my name?', previous_response_id: one.id });
    assert.equal(two.previous_response_id, one.id);
    const alone = await client.responses.create({ model: 'native-chat', input: 'What is my name?' });
    assert.ok(two.usage!.input_tokens > alone.usage!.input_tokens, `${two.usage!.input_tokens} > ${alone.usage!.input_tokens}: turn one was sent again`);
    const ref = await client.responses.create({ model: 'native-chat', input: [{ type: 'item_reference', id: one.output[0]!.id! } as never, { role: 'user', content: 'And again?' }] });
    assert.equal(ref.status, 'completed');
  });

  test('a failure mid-stream: the gateway\'s error event and response.failed, continuing the numbering; the SDK raises it', async () => {
    const res = await http(`${gw.baseURL}/responses`, { method: 'POST', key: gw.key, headers: fault('cut-stream').headers, body: JSON.stringify({ model: 'native-chat', input: 'Say hello', stream: true }) });
    assert.equal(res.status, 200);
    const events = res.text.split('\n\n').filter(Boolean).map((block) => JSON.parse(block.split('\n')[1]!.slice('data: '.length)) as Event);
    for (const e of events) assertValidResponseEvent(e, e.type);
    assert.deepEqual(events.map((e) => e.sequence_number), events.map((_, i) => i));
    const [error, failed] = events.slice(-2);
    assert.equal(error!.type, 'error');
    assert.equal(error!.code, 'upstream_invalid_response');
    assert.equal(error!.error.request_id, res.headers.get('x-request-id'));
    assert.equal(failed!.type, 'response.failed');
    assert.equal(failed!.response.id, events[0]!.response.id);

    const thrown = await collect(await client.responses.create({ model: 'native-chat', input: 'Say hello', stream: true }, fault('cut-stream'))).catch((e: unknown) => e);
    assert.ok(thrown instanceof APIError, String(thrown));
    assert.equal(thrown.code, 'upstream_invalid_response');
  });

  test('an engine failure before the stream: the contract\'s status and code, never the engine\'s body', async () => {
    const r = await http(`${gw.baseURL}/responses`, { method: 'POST', key: gw.key, headers: fault('crash').headers, body: JSON.stringify({ model: 'native-chat', input: 'hi' }) });
    assert.equal(r.status, 500, r.text);
    assert.equal(r.body.error.code, 'engine_error', 'an engine 500 is the catalog\'s engine_error, as on chat');
    assert.doesNotMatch(r.text, /simulated engine crash/);
  });

  test('a fallback to another native model sends the engine that model\'s name', async () => {
    stubBodies.length = 0;
    await http(`${gw.baseURL}/responses`, { method: 'POST', key: gw.key, body: JSON.stringify({ model: 'crashing', input: 'hi' }) });
    assert.deepEqual(stubBodies.map((b) => b.model), ['crashing', 'fallback-target']);
  });

  test('a native stream that says [DONE] before its final response is cut short, not complete: 502 before output, never a 500', async () => {
    const whole = await http(`${gw.baseURL}/responses`, { method: 'POST', key: gw.key, body: JSON.stringify({ model: 'cut-short', input: 'hi' }) });
    assert.equal(whole.status, 502, whole.text);
    assert.equal(whole.body.error.code, 'upstream_invalid_response');
    const streamed = await http(`${gw.baseURL}/responses`, { method: 'POST', key: gw.key, body: JSON.stringify({ model: 'cut-short', input: 'hi', stream: true }) });
    const events = streamed.text.split('\n\n').filter(Boolean).map((block) => JSON.parse(block.split('\n')[1]!.slice('data: '.length)) as Event);
    assert.deepEqual(events.map((e) => e.type), ['response.created', 'error', 'response.failed']);
    assert.equal(events[1]!.code, 'upstream_invalid_response');
  });

  test('without the setting, a Responses request reaches the same engine as chat completions', async () => {
    const [native, chat] = [hits(NATIVE), hits(CHAT)];
    const r = await client.responses.create({ model: 'translated-chat', input: 'Say hello' });
    assertValid('Response', r);
    assert.equal(hits(NATIVE), native);
    assert.equal(hits(CHAT), chat + 1);
  });

  test('the setting exists only on openai deployments', () => {
    assert.throws(() => parseConfigDocument({ models: [{ id: 'm', deployments: [{ id: 'd', engine: 'sim', responses: 'native' }] }] }, 'test.yaml'), /responses/);
  });
});
