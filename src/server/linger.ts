// Lingering after an early answer (as nginx's lingering close): a client still sending a body
// the gateway has refused (413) must be able to read the answer. Closing at once would leave its
// bytes unread, the kernel would answer them with a reset, and a reset can destroy the answer in
// the client's buffer before it is read (EPIPE, ECONNRESET instead of the 413). So the rest of the
// body is read and thrown away, for a bounded time and size; past either the socket is closed.
import type { IncomingMessage } from 'node:http';

const LINGER_MS = 10_000;
export const LINGER_BYTES = 32 * 1024 * 1024;

export function discardRest(req: IncomingMessage, limits = { ms: LINGER_MS, bytes: LINGER_BYTES }): void {
  if (req.complete) return;
  let left = limits.bytes;
  const timer = setTimeout(() => req.socket.destroy(), limits.ms);
  timer.unref();
  const onData = (chunk: Buffer) => {
    left -= chunk.length;
    if (left < 0) req.socket.destroy();
  };
  const done = () => {
    clearTimeout(timer);
    req.off('data', onData);
  };
  req.on('data', onData);
  req.once('end', done);
  req.once('close', done);
  req.resume();
}
