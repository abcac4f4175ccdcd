// Server-sent events to the client, with backpressure: a slow reader pauses the engine stream
// instead of piling chunks up in memory.
import type { ServerResponse } from 'node:http';

export const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
  'x-accel-buffering': 'no',
} as const;

/** SSE events of these payloads. */
export function eventsText(payloads: string[]): string {
  let text = '';
  for (const p of payloads) text += `data: ${p}\n\n`;
  return text;
}

/** Writes payloads that arrived together as one write; a promise only when the client must drain. */
export function writeEvents(res: ServerResponse, payloads: string[]): Promise<void> | undefined {
  return res.write(eventsText(payloads)) ? undefined : drained(res);
}

/** Writes SSE text already framed; a promise only when the client must drain. */
export function writeText(res: ServerResponse, text: string): Promise<void> | undefined {
  return text === '' || res.write(text) ? undefined : drained(res);
}

/** Resolves on 'drain', or on 'close' so a vanished client does not leave us blocked forever. */
function drained(res: ServerResponse): Promise<void> {
  // Written after the client left: neither event will come again.
  if (res.destroyed || res.closed) return Promise.resolve();
  return new Promise((resolve) => {
    // Both listeners go when either fires: a long stream to a slow reader waits many times.
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

export const DONE_EVENT = 'data: [DONE]\n\n';
