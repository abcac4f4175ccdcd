// What the gateway says about an engine's published load: a log line when an engine's own queue
// passes its threshold and when it comes back (so an operator sees why requests waited), one
// line per outage of its metrics endpoint, and a counter of failed polls.
import type { Logger } from '../observability/logger.js';
import type { createMetrics } from '../observability/metrics.js';
import type { EngineLoadEvents } from './engine-load.js';

export function engineLoadLog(deployment: string, logger: Logger, metrics: ReturnType<typeof createMetrics>): EngineLoadEvents {
  return {
    saturated(saturated, r) {
      if (saturated) logger.warn({ deployment, waiting: r.waiting, running: r.running }, "engine's own queue is past maxWaiting: holding new requests in admission");
      else logger.info({ deployment, waiting: r.waiting, running: r.running }, "engine's own queue is back under maxWaiting: admitting again");
    },
    pollFailed(err, first) {
      metrics.engineMetricsErrors.inc({ deployment });
      if (first) logger.warn({ deployment, err: (err as Error).message }, "engine's metrics endpoint does not answer: its load is unknown, admission not gated by it");
    },
    recovered() {
      logger.info({ deployment }, "engine's metrics endpoint answers again");
    },
  };
}
