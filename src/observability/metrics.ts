// Every Prometheus metric Sluice exports, named in this one file. One registry per gateway, so
// tests can run several gateways in one process.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

export function createMetrics(opts: { defaultMetrics?: boolean } = {}) {
  const registry = new Registry();
  if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'sluice_' });
  return {
    registry,
    requests: new Counter({
      name: 'sluice_requests_total',
      help: 'Requests answered, by endpoint, model, HTTP status and error code (empty on success).',
      labelNames: ['endpoint', 'model', 'status', 'code'] as const,
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'sluice_request_duration_seconds',
      help: 'Time from request arrival to the last byte of the response.',
      labelNames: ['endpoint', 'model'] as const,
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    firstByte: new Histogram({
      name: 'sluice_stream_first_byte_seconds',
      help: 'Streams: time from request arrival to the first event sent to the client.',
      labelNames: ['model'] as const,
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    tokens: new Counter({
      name: 'sluice_tokens_total',
      help: 'Tokens processed, as reported by the engines.',
      labelNames: ['model', 'kind'] as const,
      registers: [registry],
    }),
    inFlight: new Gauge({
      name: 'sluice_requests_in_flight',
      help: 'Requests being served right now.',
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
