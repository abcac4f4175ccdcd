import type { ServerResponse } from 'node:http';

/** A successful JSON answer. (Errors go through errors/render.ts, never here.) */
export function sendJson(res: ServerResponse, body: unknown, requestId: string, status = 200): void {
  sendJsonText(res, JSON.stringify(body), requestId, status);
}

export function sendJsonText(res: ServerResponse, text: string, requestId: string, status = 200): void {
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'x-request-id': requestId });
  res.end(text);
}
