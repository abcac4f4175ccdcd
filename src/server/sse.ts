// Server-sent events to the client, with backpressure: a slow reader pauses the engine stream
// instead of piling chunks up in memory.
import type { ServerResponse } from 'node:http';
import { once } from 'node:events';

export const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
  'x-accel-buffering': 'no',
} as const;

/** Writes payloads that arrived together as one write. */
export async function writeEvents(res: ServerResponse, payloads: string[]): Promise<void> {
  let text = '';
  for (const p of payloads) text += `data: ${p}\n\n`;
  if (!res.write(text)) {
    // 'close' also ends the wait, so a vanished client does not leave us blocked forever.
    await Promise.race([once(res, 'drain'), once(res, 'close')]);
  }
}

export const DONE_EVENT = 'data: [DONE]\n\n';
