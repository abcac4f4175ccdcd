// A client that stops reading a stream stops the engine's stream too: the gateway pauses the
// upstream instead of buffering what the engine keeps sending, and resumes when the client reads.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';

const EVENTS = 4_000;
/** 16 KB a payload: 64 MB in all, far more than the socket buffers on the way can hold. */
const TEXT = 'x'.repeat(16_000);

let upstream: Server;
/** Events the engine wrote for the latest request, and whether that request was cut off. */
let written = 0;
let cutOff = false;
let gw: TestGateway;

before(async () => {
  upstream = createServer((req, res) => {
    req.resume();
    written = 0;
    cutOff = false;
    res.once('close', () => (cutOff = !res.writableFinished));
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const chunk = (i: number) => `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: { content: TEXT }, finish_reason: i === EVENTS - 1 ? 'stop' : null }] })}\n\n`;
    const pump = () => {
      while (written < EVENTS) {
        if (!res.write(chunk(written++))) return void res.once('drain', pump);
      }
      res.end(`data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [], usage: { prompt_tokens: 1, completion_tokens: EVENTS, total_tokens: EVENTS + 1 } })}\n\ndata: [DONE]\n\n`);
    };
    pump();
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const { port } = upstream.address() as AddressInfo;
  gw = await startTestGateway({ models: [{ id: 'bp', deployments: [{ id: 'bp-up', engine: 'openai', baseUrl: `http://127.0.0.1:${port}/v1` }] }] });
});

after(async () => {
  await gw?.close();
  await new Promise((r) => upstream?.close(r));
});

function startStream(): Promise<import('node:http').IncomingMessage> {
  const { port } = new URL(gw.url);
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/v1/chat/completions', method: 'POST', headers: { authorization: `Bearer ${gw.key}`, 'content-type': 'application/json' } }, resolve);
    req.on('error', reject);
    req.end(JSON.stringify({ model: 'bp', messages: [{ role: 'user', content: 'go' }], stream: true }));
  });
}

async function inFlight(): Promise<number> {
  const text = await (await fetch(`${gw.url}/metrics`)).text();
  return Number(/^sluice_requests_in_flight (\d+)/m.exec(text)?.[1]);
}

test('a paused client pauses the engine stream, and the whole stream arrives once it reads again', async () => {
  const res = await startStream();
  assert.equal(res.statusCode, 200);
  res.pause();
  await sleep(1_000);
  const whilePaused = written;
  await sleep(300);
  assert.ok(written < EVENTS / 2, `the engine was held back while the client did not read (${written} of ${EVENTS} events sent)`);
  assert.equal(written, whilePaused, 'and stays held back');
  let text = '';
  res.setEncoding('utf8');
  for await (const piece of res) text += piece as string;
  assert.ok(text.endsWith('data: [DONE]\n\n'));
  assert.equal(text.split('"content":"').length - 1, EVENTS, 'every event arrived');
  assert.equal(written, EVENTS);
});

test('a paused client that leaves ends its request: the engine is cut off and what it received is billed', async () => {
  const res = await startStream();
  assert.equal(res.statusCode, 200);
  const requestId = String(res.headers['x-request-id']);
  res.pause();
  await sleep(500); // the gateway waits for the client to drain, with events waiting behind it
  res.destroy();
  for (let i = 0; i < 100 && (!cutOff || (await inFlight()) > 1); i++) await sleep(20);
  assert.equal(cutOff, true, 'the engine request was aborted');
  assert.ok(written < EVENTS, 'before the engine sent everything');
  assert.equal(await inFlight(), 1, 'no request is left in flight but the metrics scrape itself');
  await gw.settled();
  const row = await gw.store.usage.find(requestId);
  assert.equal(row?.error_code, 'client_closed', 'the request settled as the client having left');
  assert.ok(Number(row?.output_tokens) > 0, 'the events delivered before it left are billed');
});
