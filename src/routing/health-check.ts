// Active health checks of one deployment (`healthCheck` on an openai deployment): GET the engine's
// origin + path every intervalMs; `unhealthyAfter` failures in a row (not a 2xx within timeoutMs)
// take the deployment out of the balancer's choice, `healthyAfter` passes in a row put it back and
// close its circuit. This finds a dead engine before a user's request does, and notices its
// return without sending it user traffic as a probe.
import { Client } from 'undici';
import type { HealthCheckConfig } from '../config/schema.js';
import type { Circuit } from './circuit.js';
import { startPollLoop, type PollLoop } from '../engines/poll-loop.js';

export interface HealthCheckEvents {
  changed?(healthy: boolean, why: string): void;
}

interface Checked {
  activeHealthy: boolean;
  circuit: Circuit;
}

export class HealthCheck {
  private readonly client: Client;
  private loop: PollLoop | undefined;
  private stopped = false;
  private passes = 0;
  private failures = 0;

  constructor(origin: string, private readonly config: HealthCheckConfig, private readonly target: Checked, private readonly events: HealthCheckEvents = {}) {
    // Its own connection: a check never waits behind inference requests in the engine's pool.
    this.client = new Client(origin, { headersTimeout: config.timeoutMs, bodyTimeout: config.timeoutMs, keepAliveTimeout: Math.max(4_000, config.intervalMs * 2) });
  }

  start(): void {
    if (!this.stopped && !this.loop) this.loop = startPollLoop(() => this.check(), this.config.intervalMs);
  }

  async close(): Promise<void> {
    this.stopped = true;
    this.loop?.stop();
    await this.client.destroy();
  }

  /** One check; exported for tests, which drive it without the timer. */
  async check(): Promise<void> {
    let why: string | undefined;
    try {
      const res = await this.client.request({ method: 'GET', path: this.config.path, signal: AbortSignal.timeout(this.config.timeoutMs) });
      await res.body.dump();
      if (res.statusCode < 200 || res.statusCode >= 300) why = `GET ${this.config.path} answered ${res.statusCode}`;
    } catch (err) {
      why = `GET ${this.config.path} failed: ${(err as Error).message}`;
    }
    if (this.stopped) return;
    if (why === undefined) this.passed();
    else this.failed(why);
  }

  private passed(): void {
    this.failures = 0;
    this.passes++;
    if (!this.target.activeHealthy && this.passes >= this.config.healthyAfter) {
      this.target.activeHealthy = true;
      // The engine is back: whatever the passive detector concluded before no longer holds.
      this.target.circuit.forceClose('health check passed');
      this.events.changed?.(true, `${this.passes} health check(s) passed`);
    }
  }

  private failed(why: string): void {
    this.passes = 0;
    this.failures++;
    if (this.target.activeHealthy && this.failures >= this.config.unhealthyAfter) {
      this.target.activeHealthy = false;
      this.events.changed?.(false, why);
    }
  }
}
