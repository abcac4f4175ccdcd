// Structured JSON logs (pino). One line per request; never a key, an Authorization header or a
// prompt. The lines of one event-loop turn share one write (turn-batch.ts).
import pino from 'pino';
import { TurnBatch } from './turn-batch.js';

export type Logger = pino.Logger;

/**
 * pino's isoTime formats a new Date on every line; at thousands of lines a second most lines share
 * their millisecond with the one before, so the formatted stamp is reused.
 */
function cachedIsoTime(): () => string {
  let lastMs = -1;
  let stamp = '';
  return () => {
    const now = Date.now();
    if (now !== lastMs) {
      lastMs = now;
      stamp = `,"time":"${new Date(now).toISOString()}"`;
    }
    return stamp;
  };
}

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  // One synchronous write(2) a turn (as Node's own stdout does for files and pipes on Linux):
  // asynchronous writes cost a hand-off to the thread pool and back each time, which measured
  // more than the write itself.
  const dest = new TurnBatch(destination ?? pino.destination({ dest: 1, sync: true }));
  return pino({
    level,
    base: { service: 'sluice' },
    timestamp: cachedIsoTime(),
    redact: { paths: ['authorization', 'headers.authorization', 'key', '*.key'], censor: '[redacted]' },
  }, dest);
}

/**
 * The one-line-per-request log: the same stream and level as `logger`, without redaction. Its
 * fields are a fixed list that never holds a secret, and redaction's per-line cost is the largest
 * part of pino's on the request path.
 */
export function createRequestLogger(logger: Logger): Logger {
  const stream = (logger as unknown as Record<symbol, pino.DestinationStream>)[pino.symbols.streamSym];
  return pino({ level: logger.level, base: { service: 'sluice' }, timestamp: cachedIsoTime() }, stream);
}
