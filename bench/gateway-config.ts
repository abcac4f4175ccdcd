// The gateway as the benchmark runs it. The issue asks for a realistic setup: auth on, a limited
// key, the ledger on, metrics on. Only auth exists in the gateway today; when the others land,
// their settings go in these two functions and every later benchmark run measures them.
import { MODEL } from './requests.js';

export interface GatewayConfigInput {
  /** The fake engine's origin, e.g. http://127.0.0.1:41234 */
  engineOrigin: string;
  /** Absolute path of the SQLite file (keys; later the ledger). */
  storePath: string;
  /** Upstream keep-alive connections: the memory test holds ~1,000 streams open at once. */
  upstreamConnections: number;
}

/** The config document (written as YAML) for `sluice serve` in the benchmark. */
export function realisticGatewayConfig(o: GatewayConfigInput): Record<string, unknown> {
  return {
    server: { host: '127.0.0.1', port: 0 },
    store: `sqlite://${o.storePath}`,
    // One JSON line per request: part of what is measured, as in production.
    logLevel: 'info',
    // Later, once they exist: the ledger (usage rows per request) and metrics (a /metrics endpoint
    // and its per-request counters), both switched on here.
    models: [
      {
        id: MODEL,
        contextLength: 8192,
        deployments: [
          {
            id: 'fake',
            engine: 'openai',
            baseUrl: `${o.engineOrigin}/v1`,
            // Fewer than the open streams would queue them inside the gateway and the memory test
            // would not hold 1,000 engine streams open. The baseline proxy gets the same number.
            connections: o.upstreamConnections,
          },
        ],
      },
    ],
  };
}

/**
 * Arguments to `sluice` that create the key the load uses (it prints only the key). Later: a key
 * with a rate limit and budget high enough never to trip during the run, so the limiter's
 * bookkeeping is measured but never rejects.
 */
export function benchKeyArgs(configPath: string): string[] {
  return ['keys', 'create', '--config', configPath, '--name', 'bench-limited'];
}
