// The baseline: the least a Node reverse proxy does (node:http in, an undici Pool out, bytes piped
// both ways, no parsing, auth or logging). The gateway's ratio to it is the cost of the gateway's
// own work with Node's HTTP costs factored out. Child process:
// `node dist/bench/baseline-proxy.js ENGINE_ORIGIN CONNECTIONS`; prints its URL on stdout.
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { Pool, type Dispatcher } from 'undici';
import { listenAndAnnounce, exitWithParent } from './child.js';

const [engineOrigin, connections] = process.argv.slice(2);
if (!engineOrigin || !connections) {
  process.stderr.write('usage: baseline-proxy.js ENGINE_ORIGIN CONNECTIONS\n');
  process.exit(2);
}

// The same pool settings as the gateway's openai engine, so the comparison is like for like.
const pool = new Pool(engineOrigin, { connections: Number(connections), headersTimeout: 0, bodyTimeout: 0, keepAliveTimeout: 30_000 });

// Hop-by-hop headers describe one connection and must not be forwarded (RFC 9110 §7.6.1).
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'host']);

function endToEnd(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const name in headers) {
    const value = headers[name];
    if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
  }
  return out;
}

const server = createServer((req, res) => {
  // Without this a client that leaves would keep its engine stream (and memory) alive.
  const abort = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) abort.abort();
  });
  pool.stream(
    { path: req.url ?? '/', method: (req.method ?? 'GET') as Dispatcher.HttpMethod, headers: endToEnd(req.headers), body: req, signal: abort.signal },
    ({ statusCode, headers }) => {
      res.writeHead(statusCode, endToEnd(headers));
      return res;
    },
    (err) => {
      if (!err) return;
      if (res.headersSent) res.destroy();
      else res.writeHead(502, { 'content-type': 'text/plain' }).end('bad gateway');
    },
  );
});
server.keepAliveTimeout = 65_000;

await listenAndAnnounce(server, 'baseline proxy');
exitWithParent(server);
