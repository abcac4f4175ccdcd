// A fake OpenAI-compatible engine that answers at once with fixed bytes, so the benchmark measures
// the gateway and not the engine (the built-in simulator's timing model would dominate every
// number). Child process: `node dist/bench/fake-engine.js`; prints its URL on stdout.
//
//   non-streaming: one fixed chat.completion JSON object
//   stream: true:  20 content chunks, a usage chunk, [DONE], each its own write as a real engine
//                  flushes token by token; with body field bench_stream_ms: N the 20 chunks are
//                  spread over N ms (the memory test's slow streams).
//   POST /bench/release: every slow stream still open sends the rest of its chunks and ends. The
//                  memory test holds its streams open exactly as long as it needs, then calls this,
//                  so every stream still completes (and is checked) without waiting out N ms.
import { createServer, type ServerResponse } from 'node:http';
import { listenAndAnnounce, exitWithParent } from './child.js';
import { MODEL, RELEASE_PATH, SLOW_FIELD, STREAM_CHUNKS } from './requests.js';

const ID = 'chatcmpl-bench00000000000000000000';
const CREATED = 1_700_000_000;
const WORDS = ['The', ' quick', ' brown', ' fox', ' jumps', ' over', ' the', ' lazy', ' dog', ' while', ' the', ' cat', ' naps', ' in', ' warm', ' sun', ' near', ' a', ' quiet', ' river'];
const usage = { prompt_tokens: 9, completion_tokens: STREAM_CHUNKS, total_tokens: 9 + STREAM_CHUNKS };

const JSON_ANSWER = Buffer.from(JSON.stringify({
  id: ID,
  object: 'chat.completion',
  created: CREATED,
  model: MODEL,
  choices: [{ index: 0, message: { role: 'assistant', content: WORDS.slice(0, 16).join('') }, logprobs: null, finish_reason: 'length' }],
  usage: { prompt_tokens: 9, completion_tokens: 16, total_tokens: 25 },
}));

function chunk(i: number): string {
  const delta = i === 0 ? { role: 'assistant', content: WORDS[0] } : { content: WORDS[i % WORDS.length] };
  const finish = i === STREAM_CHUNKS - 1 ? 'length' : null;
  return `data: ${JSON.stringify({ id: ID, object: 'chat.completion.chunk', created: CREATED, model: MODEL, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] })}\n\n`;
}

// Built once: the engine's per-request work is a JSON.parse of a ~150-byte body and some writes.
const CHUNKS = Array.from({ length: STREAM_CHUNKS }, (_, i) => chunk(i));
const TAIL = `data: ${JSON.stringify({ id: ID, object: 'chat.completion.chunk', created: CREATED, model: MODEL, choices: [], usage })}\n\ndata: [DONE]\n\n`;
const SSE_HEAD = { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' };

function fastStream(res: ServerResponse): void {
  res.writeHead(200, SSE_HEAD);
  for (const c of CHUNKS) res.write(c);
  res.end(TAIL);
}

/** Slow streams still open, each with the function that finishes it at once. */
const openSlowStreams = new Set<() => void>();

/** First chunk at once (so the client sees the stream open), the rest evenly over `ms`. */
function slowStream(res: ServerResponse, ms: number): void {
  res.writeHead(200, SSE_HEAD);
  res.write(CHUNKS[0]);
  let next = 1;
  const finish = () => {
    clearInterval(timer);
    openSlowStreams.delete(finish);
    while (next < STREAM_CHUNKS) res.write(CHUNKS[next++]);
    res.end(TAIL);
  };
  const timer = setInterval(() => {
    if (next < STREAM_CHUNKS) res.write(CHUNKS[next++]);
    else finish();
  }, ms / STREAM_CHUNKS);
  openSlowStreams.add(finish);
  res.once('close', () => {
    clearInterval(timer);
    openSlowStreams.delete(finish);
  });
}

function release(res: ServerResponse): void {
  const n = openSlowStreams.size;
  for (const finish of [...openSlowStreams]) finish();
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ released: n }));
}

function fail(res: ServerResponse, status: number, message: string): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ object: 'error', message, code: status }));
}

const server = createServer((req, res) => {
  if (req.method === 'POST' && req.url === RELEASE_PATH) return release(res);
  if (req.method !== 'POST' || !req.url?.endsWith('/chat/completions')) return fail(res, 404, `no route ${req.method} ${req.url}`);
  const parts: Buffer[] = [];
  req.on('data', (c: Buffer) => parts.push(c));
  req.on('end', () => {
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(Buffer.concat(parts).toString('utf8')) as Record<string, unknown>;
    } catch {
      return fail(res, 400, 'request body is not valid JSON');
    }
    if (body.stream !== true) {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': JSON_ANSWER.length }).end(JSON_ANSWER);
      return;
    }
    const slowMs = body[SLOW_FIELD];
    if (typeof slowMs === 'number' && slowMs > 0) slowStream(res, slowMs);
    else fastStream(res);
  });
});
// Longer than the gateway's and the proxy's pool keep-alive (30 s): they, not we, close idle sockets.
server.keepAliveTimeout = 65_000;

await listenAndAnnounce(server, 'fake engine');
exitWithParent(server);
