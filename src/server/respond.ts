import type { ServerResponse } from 'node:http';

/** A successful JSON answer. (Errors go through errors/render.ts, never here.) */
export function sendJson(res: ServerResponse, body: unknown, requestId: string, status = 200): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'x-request-id': requestId });
  res.end(text);
}
