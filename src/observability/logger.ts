// Structured JSON logs (pino). One line per request; never a key, an Authorization header or a
// prompt. Writes are asynchronous so logging never blocks the request path.
import pino from 'pino';

export type Logger = pino.Logger;

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  const dest = destination ?? pino.destination({ dest: 1, sync: false, minLength: 0 });
  return pino({
    level,
    base: { service: 'sluice' },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: ['authorization', 'headers.authorization', 'key', '*.key'], censor: '[redacted]' },
  }, dest);
}
