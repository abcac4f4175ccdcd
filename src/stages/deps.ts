import type { SluiceConfig } from '../config/schema.js';
import type { Authenticator } from '../keys/authenticate.js';
import type { Logger } from '../observability/logger.js';
import type { Billing } from '../billing/billing.js';
import type { Metrics } from '../observability/metrics.js';
import type { ModelRegistry } from '../routing/registry.js';
import type { Store } from '../store/store.js';
import type { RateLimiter } from '../limits/limiter.js';
import type { RouteEvents } from '../routing/route.js';
import type { RequestRecorder } from '../observability/request-recorder.js';
import type { TrafficWindow } from '../ops/traffic-window.js';

/** What the request stages need, passed in explicitly so a test can build a gateway from parts. */
export interface GatewayDeps {
  config: SluiceConfig;
  store: Store;
  auth: Authenticator;
  registry: ModelRegistry;
  logger: Logger;
  metrics: Metrics;
  billing: Billing;
  limiter: RateLimiter;
  /** The request log's writer: failed, refused and retried requests, for the request inspector. */
  requestLog: RequestRecorder;
  /** The last minutes of API traffic, for the status page and the dashboard. */
  traffic: TrafficWindow;
  /** Retries and spent budgets, for the metrics. */
  routeEvents?: RouteEvents;
}
