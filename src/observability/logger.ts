// Structured JSON logs (pino). One line per request; never a key, an Authorization header or a
// prompt. The lines of one event-loop turn share one write (turn-batch.ts).
import { fstatSync } from 'node:fs';
import pino from 'pino';
import { TurnBatch } from './turn-batch.js';
import { isoAt } from '../store/period.js';

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
      stamp = `,"time":"${isoAt(now)}"`;
    }
    return stamp;
  };
}

/**
 * Writing a turn's lines synchronously saves the thread-pool round trip of an asynchronous write,
 * which measured more than the write itself; but only a regular file is always ready to take
 * them. A pipe or a terminal may be full, and then a synchronous write would stall every request.
 */
function stdoutIsFile(): boolean {
  try {
    return fstatSync(1).isFile();
  } catch {
    return false;
  }
}

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  const dest = new TurnBatch(destination ?? pino.destination({ dest: 1, sync: stdoutIsFile() }));
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
