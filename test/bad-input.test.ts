// Bad input of every kind gets its catalog 4xx: never a 500, never a hang, and the gateway keeps
// serving. Raw HTTP, so every header and byte is under the test's control.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { assertContractError } from './helpers/assert-error.js';
import { http, simModel, startTestGateway, type TestGateway } from './helpers/gateway.js';
import { httpText, rawRequest } from './helpers/raw-socket.js';

let gw: TestGateway;
const chat = (extra: Record<string, unknown> = {}) => JSON.stringify({ model: 'test-chat', messages: [{ role: 'user', content: 'hi' }], max_tokens: 4, ...extra });

before(async () => {
  gw = await startTestGateway({
    server: { maxBodyBytes: 64 * 1024, bodyTimeoutMs: 300 },
    models: [
      simModel('test-chat', { contextLength: 100 }),
      { id: 'test-embed', kind: 'embedding', contextLength: 50, deployments: [{ id: 'e', engine: 'sim', sim: { ttftMs: 1 } }] },
      { id: 'undeployed', deployments: [] },
      simModel('in-maintenance', { maintenance: true }),
    ],
  });
});
after(() => gw.close());

async function post(path: string, body: string | Uint8Array, headers: Record<string, string> = {}) {
  return http(gw.url + path, { method: 'POST', body: body as BodyInit, key: gw.key, headers });
}

describe('routes and methods', () => {
  test('unknown path is 404 route_not_found, before auth', async () => assertContractError(await http(`${gw.url}/v2/nothing`), 'route_not_found'));
  test('wrong method is 405 with allow', async () => {
    const res = await http(`${gw.url}/v1/chat/completions`, { method: 'GET' });
    assertContractError(res, 'method_not_allowed');
    assert.equal(res.headers.get('allow'), 'POST');
    const del = await http(`${gw.url}/v1/models`, { method: 'DELETE' });
    assertContractError(del, 'method_not_allowed');
    assert.equal(del.headers.get('allow'), 'GET');
  });
  test('a successful response carries x-request-id too', async () => {
    const res = await http(`${gw.url}/health`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('x-request-id') ?? '', /^req_/);
  });
});

describe('authentication (401, from headers before the body is read)', () => {
  test('missing key', async () => assertContractError(await http(`${gw.url}/v1/chat/completions`, { method: 'POST', body: chat() }), 'missing_api_key'));
  test('not a bearer token', async () => assertContractError(await http(`${gw.url}/v1/chat/completions`, { method: 'POST', body: chat(), headers: { authorization: `Basic ${gw.key}` } }), 'invalid_api_key'));
  test('malformed sluice key', async () => assertContractError(await http(`${gw.url}/v1/chat/completions`, { method: 'POST', body: chat(), key: 'sk-sluice-short' }), 'invalid_api_key'));
  test('unknown key of the right shape', async () => assertContractError(await http(`${gw.url}/v1/chat/completions`, { method: 'POST', body: chat(), key: gw.key.slice(0, -4) + '0000' }), 'invalid_api_key'));
  test('401 wins over a bad body', async () => assertContractError(await http(`${gw.url}/v1/chat/completions`, { method: 'POST', body: '{not json' }), 'missing_api_key'));
  test('an absurdly long token is rejected without a lookup', async () => assertContractError(await http(`${gw.url}/v1/models`, { key: 'x'.repeat(5000) }), 'invalid_api_key'));
});

describe('body size and speed (413, 408)', () => {
  test('content-length over the limit is refused before reading', async () => {
    const res = await rawRequest(gw.url, [httpText('POST', '/v1/chat/completions', { authorization: `Bearer ${gw.key}`, 'content-type': 'application/json', 'content-length': String(10 * 1024 * 1024) })], { waitMs: 2000 });
    assertContractError({ status: res.status, headers: new Headers(res.headers), body: res.body }, 'payload_too_large');
    assert.match(res.body.error.message, /65536 bytes/);
  });
  test('a chunked body that grows over the limit', async () => {
    const big = JSON.stringify({ model: 'test-chat', messages: [{ role: 'user', content: 'a'.repeat(100 * 1024) }] });
    const res = await post('/v1/chat/completions', new TextEncoder().encode(big));
    assertContractError(res, 'payload_too_large');
    const head = httpText('POST', '/v1/chat/completions', { authorization: `Bearer ${gw.key}`, 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    const chunk = 'b'.repeat(16 * 1024);
    const parts = [head, ...Array.from({ length: 6 }, () => `${chunk.length.toString(16)}\r\n${chunk}\r\n`)];
    const raw = await rawRequest(gw.url, parts, { waitMs: 2000 });
    assert.equal(raw.status, 413);
    assert.equal(raw.body.error.code, 'payload_too_large');
  });
  test('a body sent too slowly is 408 with connection: close', async () => {
    const body = chat();
    const head = httpText('POST', '/v1/chat/completions', { authorization: `Bearer ${gw.key}`, 'content-type': 'application/json', 'content-length': String(body.length) });
    const started = Date.now();
    const res = await rawRequest(gw.url, [head, body.slice(0, 10), body.slice(10)], { gapMs: 1000, waitMs: 3000 });
    assert.equal(res.status, 408);
    assert.equal(res.body.error.code, 'request_timeout');
    assert.equal(res.headers['connection'], 'close');
    assert.equal(res.headers['x-should-retry'], 'true');
    assert.ok(Date.now() - started < 2500, 'answered at the body timeout, not at the end');
  });
});

describe('JSON and parameters (400)', () => {
  const cases: Array<[string, string | Uint8Array, 'invalid_json' | 'invalid_parameter' | 'unsupported_content_type', string | null, Record<string, string>?]> = [
    ['malformed JSON', '{"model": "test-chat", ', 'invalid_json', null],
    ['a JSON array', '[1,2]', 'invalid_json', null],
    ['a JSON string', '"hello"', 'invalid_json', null],
    ['an empty body', '', 'invalid_json', null],
    ['invalid UTF-8', new Uint8Array([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]), 'invalid_json', null],
    ['__proto__ key', '{"model":"test-chat","messages":[{"role":"user","content":"hi"}],"__proto__":{"admin":true}}', 'invalid_json', null],
    ['constructor.prototype', '{"model":"test-chat","messages":[],"constructor":{"prototype":{"x":1}}}', 'invalid_json', null],
    ['deep nesting', `{"model":"test-chat","messages":[{"role":"user","content":"x"}],"extra":${'['.repeat(5000)}${']'.repeat(5000)}}`, 'invalid_json', null],
    ['multipart content-type', chat(), 'unsupported_content_type', null, { 'content-type': 'multipart/form-data; boundary=x' }],
    ['model missing', JSON.stringify({ messages: [{ role: 'user', content: 'hi' }] }), 'invalid_parameter', 'model'],
    ['model of the wrong type', chat({ model: 42 }), 'invalid_parameter', 'model'],
    ['empty messages', chat({ messages: [] }), 'invalid_parameter', 'messages'],
    ['messages not an array', chat({ messages: 'hi' }), 'invalid_parameter', 'messages'],
    ['a bad role', chat({ messages: [{ role: 'user', content: 'a' }, { role: 'robot', content: 'b' }] }), 'invalid_parameter', 'messages[1].role'],
    ['a bad content part', chat({ messages: [{ role: 'user', content: [{ type: 'text', text: 5 }] }] }), 'invalid_parameter', 'messages[0].content[0].text'],
    ['tool message without tool_call_id', chat({ messages: [{ role: 'tool', content: 'x' }] }), 'invalid_parameter', 'messages[0].tool_call_id'],
    ['temperature out of range', chat({ temperature: 3 }), 'invalid_parameter', 'temperature'],
    ['absurd max_tokens', chat({ max_tokens: 1e15 }), 'invalid_parameter', 'max_tokens'],
    ['negative max_tokens', chat({ max_tokens: -1 }), 'invalid_parameter', 'max_tokens'],
    ['fractional n', chat({ n: 1.5 }), 'invalid_parameter', 'n'],
    ['too many stop sequences', chat({ stop: ['a', 'b', 'c', 'd', 'e'] }), 'invalid_parameter', 'stop'],
    ['stream of the wrong type', chat({ stream: 'yes' }), 'invalid_parameter', 'stream'],
    ['stream_options without stream', chat({ stream_options: { include_usage: true } }), 'invalid_parameter', 'stream_options'],
  ];
  for (const [name, body, code, param, headers] of cases) {
    test(name, async () => assertContractError(await post('/v1/chat/completions', body, headers), code, param));
  }
  test('completions: prompt of the wrong type', async () => assertContractError(await post('/v1/completions', JSON.stringify({ model: 'test-chat', prompt: { a: 1 } })), 'invalid_parameter', 'prompt'));
  test('embeddings: empty input list', async () => assertContractError(await post('/v1/embeddings', JSON.stringify({ model: 'test-embed', input: [] })), 'invalid_parameter', 'input'));
  test('embeddings: bad encoding_format', async () => assertContractError(await post('/v1/embeddings', JSON.stringify({ model: 'test-embed', input: 'x', encoding_format: 'hex' })), 'invalid_parameter', 'encoding_format'));
  test('unknown fields pass through (vLLM extras such as top_k)', async () => {
    const res = await post('/v1/chat/completions', chat({ top_k: 5, repetition_penalty: 1.1 }));
    assert.equal(res.status, 200, res.text);
  });
  test('no content-type at all is still parsed as JSON', async () => {
    const res = await rawRequest(gw.url, [httpText('POST', '/v1/chat/completions', { authorization: `Bearer ${gw.key}`, 'content-length': String(chat().length) }, chat())]);
    assert.equal(res.status, 200);
  });
});

describe('models and context (404, 400, 503)', () => {
  test('unknown model is 404 model_not_found', async () => assertContractError(await post('/v1/chat/completions', chat({ model: 'nope' })), 'model_not_found', 'model'));
  test('an embedding model on chat is a 400 naming model', async () => assertContractError(await post('/v1/chat/completions', chat({ model: 'test-embed' })), 'invalid_parameter', 'model'));
  test('a known model without deployments is 404 model_not_deployed', async () => assertContractError(await post('/v1/chat/completions', chat({ model: 'undeployed' })), 'model_not_deployed'));
  test('a model in maintenance is 503 with retry-after', async () => assertContractError(await post('/v1/chat/completions', chat({ model: 'in-maintenance' })), 'maintenance'));
  test('a prompt longer than the context names messages', async () => {
    const res = await post('/v1/chat/completions', chat({ messages: [{ role: 'user', content: 'word '.repeat(200) }], max_tokens: 1 }));
    assertContractError(res, 'context_length_exceeded', 'messages');
    assert.match(res.body.error.message, /maximum context length is 100 tokens/);
  });
  test('prompt plus max_tokens over the context names max_tokens', async () => assertContractError(await post('/v1/chat/completions', chat({ max_tokens: 99 })), 'context_length_exceeded', 'max_tokens'));
  test('a prompt that fits runs', async () => assert.equal((await post('/v1/chat/completions', chat({ max_tokens: 50 }))).status, 200));
  test('completions context check', async () => assertContractError(await post('/v1/completions', JSON.stringify({ model: 'test-chat', prompt: 'word '.repeat(200) })), 'context_length_exceeded', 'prompt'));
  test('embeddings context check', async () => assertContractError(await post('/v1/embeddings', JSON.stringify({ model: 'test-embed', input: ['ok', 'word '.repeat(100)] })), 'context_length_exceeded', 'input'));
  test('GET /v1/models/{id} for an unknown model is 404', async () => assertContractError(await http(`${gw.url}/v1/models/nope`, { key: gw.key }), 'model_not_found'));
});

describe('HTTP the server cannot parse', () => {
  test('a garbage request line gets a JSON 400', async () => {
    const res = await rawRequest(gw.url, ['NOT HTTP AT ALL\r\n\r\n']);
    assert.equal(res.status, 400);
    assert.equal(res.body.error.code, 'malformed_request');
    assert.equal(res.headers['x-should-retry'], 'false');
  });
  test('huge headers get a JSON 413', async () => {
    const res = await rawRequest(gw.url, [httpText('GET', '/health', { 'x-big': 'a'.repeat(100 * 1024) })]);
    assert.equal(res.status, 413);
    assert.equal(res.body.error.code, 'headers_too_large');
  });
});

test('after all of that the gateway still serves', async () => {
  const res = await post('/v1/chat/completions', chat());
  assert.equal(res.status, 200);
  assert.equal(res.body.object, 'chat.completion');
});
