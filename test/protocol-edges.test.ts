// HTTP edges: CONNECT and unparseable request lines get a contract answer before the socket
// closes; a body over the limit is answered 413 and then read and discarded (bounded), so a plain
// client can read the answer and even reuse the connection; with pipelining, an unparseable
// request is answered after the answers before it, and a request whose client left is not billed.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { assertContractError } from './helpers/assert-error.js';
import { simModel, startTestGateway, type TestGateway } from './helpers/gateway.js';
import { parseRawResponse, rawRequest } from './helpers/raw-socket.js';
import { LINGER_BYTES } from '../src/server/linger.js';

const LIMIT = 64 * 1024;
let gw: TestGateway;
before(async () => {
  gw = await startTestGateway({ server: { maxBodyBytes: LIMIT }, models: [simModel('test-chat'), simModel('slow-chat', {}, { ttftMs: 150 })] });
});
after(() => gw.close());

const raw = (r: ReturnType<typeof parseRawResponse>) => ({ status: r.status, headers: new Headers(r.headers), body: r.body });

function chatRequest(model = 'test-chat', close = false): string {
  const body = JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 4 });
  return `POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${gw.key}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${close ? 'connection: close\r\n' : ''}\r\n${body}`;
}

/** Every HTTP response in a byte stream, in order. */
function responses(text: string): Array<ReturnType<typeof parseRawResponse>> {
  return text.split(/(?=HTTP\/1\.1 \d{3} )/).filter((s) => s.length > 0).map(parseRawResponse);
}

function open(): Promise<{ socket: Socket; received: () => string; closed: Promise<string | null> }> {
  const { port } = new URL(gw.url);
  const socket = connect(Number(port), '127.0.0.1');
  let text = '';
  let error: string | null = null;
  socket.on('data', (d) => (text += d));
  socket.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
  const closed = new Promise<string | null>((resolve) => socket.on('close', () => resolve(error)));
  return new Promise((resolve) => socket.on('connect', () => resolve({ socket, received: () => text, closed })));
}

test('CONNECT is answered 405 method_not_allowed with allow, not a silent close', async () => {
  const res = await rawRequest(gw.url, ['CONNECT example.com:443 HTTP/1.1\r\nhost: example.com:443\r\n\r\n']);
  assertContractError(raw(res), 'method_not_allowed');
  assert.ok(res.headers.allow);
});

test('a method HTTP does not know, and a request line that is not HTTP, are 400 malformed_request', async () => {
  assertContractError(raw(await rawRequest(gw.url, ['FROB /v1/models HTTP/1.1\r\nhost: x\r\n\r\n'])), 'malformed_request');
  assertContractError(raw(await rawRequest(gw.url, ['\u0000\u0001 nonsense\r\n\r\n'])), 'malformed_request');
});

test('a body that breaks mid-way (a bad chunk size) is answered 400 at once, not after the body timeout', async () => {
  const t0 = performance.now();
  const res = await rawRequest(gw.url, [`POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${gw.key}\r\ntransfer-encoding: chunked\r\n\r\n5\r\n{"mod\r\nzz\r\n`]);
  assertContractError(raw(res), 'malformed_request');
  assert.ok(performance.now() - t0 < 2_000, 'answered before the 30 s body timeout');
});

test('methods HTTP knows but no route serves are 405 with allow', async () => {
  for (const method of ['OPTIONS', 'TRACE', 'PUT']) {
    const res = await rawRequest(gw.url, [`${method} /v1/chat/completions HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`]);
    assertContractError(raw(res), 'method_not_allowed');
    assert.equal(res.headers.allow, 'POST');
  }
});

test('a body over the limit from a plain client: the 413 is read whole, the connection is then reused', async () => {
  const { socket, received, closed } = await open();
  const big = Buffer.alloc(LIMIT * 40, 'a');
  socket.write(`POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${gw.key}\r\ncontent-type: application/json\r\ncontent-length: ${big.length}\r\n\r\n`);
  await new Promise<void>((resolve, reject) => socket.write(big, (err) => (err ? reject(err) : resolve())));
  socket.write(chatRequest('test-chat', true));
  assert.equal(await closed, null, 'no EPIPE or reset: the gateway read what it was sent');
  const [first, second] = responses(received());
  assertContractError(raw(first!), 'payload_too_large');
  assert.equal(second?.status, 200, 'the same connection served the next request');
});

test('lingering is bounded: past LINGER_BYTES of discarded body the connection is closed', async () => {
  const { socket, received, closed } = await open();
  socket.on('error', () => {});
  socket.write(`POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${gw.key}\r\ncontent-length: ${LINGER_BYTES * 4}\r\n\r\n`);
  const chunk = Buffer.alloc(1 << 20, 'a');
  let sent = 0;
  let done = false;
  void closed.then(() => (done = true));
  while (!done && sent < LINGER_BYTES * 4) {
    if (!socket.write(chunk)) await Promise.race([new Promise((r) => socket.once('drain', r)), closed]);
    sent += chunk.length;
  }
  await closed;
  assert.ok(sent < LINGER_BYTES * 3, `closed after ${sent >> 20} MiB sent`);
  assertContractError(raw(responses(received())[0]!), 'payload_too_large');
});

test('pipelining: a request that cannot be parsed is answered after the answer before it', async () => {
  const before = await gw.store.usage.count();
  const res = await rawRequest(gw.url, [`${chatRequest()}GARBAGE /// HTTP/9\r\n\r\n`]);
  const [first, second] = responses(res.raw);
  assert.equal(first?.status, 200, 'the valid request is answered first');
  assertContractError(raw(second!), 'malformed_request');
  await gw.settled();
  assert.equal(await gw.store.usage.count(), before + 1, 'the delivered answer is billed once');
});

test('pipelining: requests whose client left before their answers are not billed, the queued one neither', async () => {
  const before = await gw.store.usage.count();
  const { socket, closed } = await open();
  socket.write(`${chatRequest('slow-chat')}${chatRequest('slow-chat')}GARBAGE /// HTTP/9\r\n\r\n`);
  socket.destroy();
  await closed;
  await new Promise((r) => setTimeout(r, 400)); // the engine's answer comes after 150 ms
  await gw.settled();
  assert.equal(await gw.store.usage.count(), before, 'nothing delivered, nothing billed');
  assert.equal(gw.gateway.deps.metrics.active.count, 0, 'the request ended');
});
