// A raw TCP client for what fetch cannot send: malformed HTTP, slow bodies, lying content-length.
import { connect } from 'node:net';

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: any;
  raw: string;
}

export function parseRawResponse(raw: string): RawResponse {
  const [head = '', ...rest] = raw.split('\r\n\r\n');
  const lines = head.split('\r\n');
  const status = Number(lines[0]?.split(' ')[1]);
  const headers: Record<string, string> = {};
  for (const l of lines.slice(1)) {
    const i = l.indexOf(':');
    if (i > 0) headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
  }
  const text = rest.join('\r\n\r\n');
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status, headers, body, raw };
}

/**
 * Sends `parts` one after another with `gapMs` between them and resolves with whatever the server
 * answered once it closes the connection (or after `waitMs`).
 */
export function rawRequest(url: string, parts: Array<string | Buffer>, opts: { gapMs?: number; waitMs?: number } = {}): Promise<RawResponse> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    let timer: NodeJS.Timeout | undefined;
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(parseRawResponse(Buffer.concat(chunks).toString('utf8')));
    };
    socket.on('data', (d) => chunks.push(d));
    socket.on('close', finish);
    socket.on('error', (err) => (chunks.length ? finish() : reject(err)));
    socket.on('connect', async () => {
      for (const [i, p] of parts.entries()) {
        if (socket.destroyed) break;
        if (i > 0 && opts.gapMs) await new Promise((r) => setTimeout(r, opts.gapMs));
        if (!socket.destroyed) socket.write(p);
      }
      timer = setTimeout(finish, opts.waitMs ?? 5_000);
    });
  });
}

/** A complete HTTP/1.1 request as text. */
export function httpText(method: string, path: string, headers: Record<string, string>, body = ''): string {
  const h = Object.entries({ host: 'localhost', connection: 'close', ...headers }).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  return `${method} ${path} HTTP/1.1\r\n${h}\r\n${body}`;
}
