// The gateway as the benchmark runs it: the realistic setup (auth on, a limited key, the
// ledger on, metrics on) declared in one function, so later features (rate limits, say) add their
// settings here and every later benchmark run measures them.
//
// What each part turns on in the request path today:
//   - auth: the key is declared in the config and stored (hashed) at start; every request is
//     authenticated against the store (behind the gateway's short cache), never a bypass.
//   - limited key: scoped to the model and with a monthly spend cap, on a prepaid account with a
//     monthly cap, so every request reserves its likely cost before the engine call and settles
//     it after (both batched SQLite transactions), as a paying customer's requests do. The
//     amounts are far above what a run can spend: the limits are checked, never hit.
//   - ledger: a row per request, written when the request settles (always on in the gateway).
//   - rate-limited key: a second key of the same account with rpm and tpm limits far above what a
//     run sends, so every request it makes is checked (and its tokens reserved and settled)
//     without being refused. The limited runs use it: on this gateway's in-memory limits, and on a
//     second gateway whose limits live in Redis.
//   - admission: the deployment has a concurrency limit and priority queue in front of it, sized
//     so that nothing waits: the admission work is measured, not queueing.
//   - routing: the long-chat rows' two models have two deployments each on the same engine, one
//     prefix-aware (the default for such a model: every request's prompt is hashed into blocks and
//     looked up in the prefix index), one least-loaded; the gap between them is that work.
//   - metrics: request counters and latency histograms (always on; GET /metrics).
//   - logs: one JSON line per request at info level (stdout, to a file the benchmark keeps).
import { randomBytes } from 'node:crypto';
import { LEAST_LOADED_MODEL, PREFIX_AWARE_MODEL } from './long-chat.js';
import { MODEL } from './requests.js';

export interface GatewayConfigInput {
  /** The fake engine's origin, e.g. http://127.0.0.1:41234 */
  engineOrigin: string;
  /** Absolute path of the SQLite file: keys, accounts, reservations and the ledger. */
  storePath: string;
  /** Upstream keep-alive connections: the memory test holds ~1,000 streams open at once. */
  upstreamConnections: number;
  /** `limits.store`: memory (default) or a redis:// URL. */
  limitStore?: string;
  /** The keys to declare (a second gateway on the same keys); fresh ones when absent. */
  keys?: { apiKey: string; limitedKey: string };
}

export interface GatewaySetup {
  /** The config document, written as YAML for `sluice serve --config`. */
  config: Record<string, unknown>;
  /** The limited key the load uses. */
  apiKey: string;
  /** The same, with rate limits as well. */
  limitedKey: string;
}

const ACCOUNT = 'bench';
/** USD: a run spends well under a cent; these only need to be real limits that are never reached. */
const LIMIT_USD = 1_000_000;
/** Never reached: a run sends well under 10^6 requests and 10^8 tokens a minute. */
const RATE_LIMITS = { rpm: 1_000_000, tpm: 1_000_000_000 };
const KEY_MODELS = [MODEL, PREFIX_AWARE_MODEL, LEAST_LOADED_MODEL];
/** Non-zero prices, so reservations and the ledger carry real amounts. */
const PRICING = { inputPerMTok: 0.15, outputPerMTok: 0.6 };

export function realisticGatewayConfig(o: GatewayConfigInput): GatewaySetup {
  // A declared key is found by its hash, so it must not look like a store-issued `sk-sluice-` key
  // (whose id part the gateway looks up instead). Fresh per run: the store is fresh too.
  const { apiKey, limitedKey } = o.keys ?? { apiKey: `bench-${randomBytes(24).toString('hex')}`, limitedKey: `bench-${randomBytes(24).toString('hex')}` };
  const config = {
    server: { host: '127.0.0.1', port: 0 },
    store: `sqlite://${o.storePath}`,
    logLevel: 'info',
    // A prefix of the run's own: runs never share counters, even on one Redis.
    // timeoutMs: on two shared cores Redis competes with four busy processes (load generator,
    // engine, proxy, gateway) and is sometimes off the CPU for more than the default 10 ms; the
    // benchmark measures the gateway's cost, not how often Redis is starved, so it allows 100 ms.
    limits: { store: o.limitStore ?? 'memory', onStoreDown: 'failClosed', timeoutMs: 100, keyPrefix: `sluice-bench:${randomBytes(6).toString('hex')}:` },
    accounts: [
      {
        id: ACCOUNT,
        credits: LIMIT_USD,
        monthlySpendCap: LIMIT_USD,
        keys: [
          { key: apiKey, name: 'bench-limited', models: KEY_MODELS, spendCap: LIMIT_USD },
          { key: limitedKey, name: 'bench-rate-limited', models: KEY_MODELS, spendCap: LIMIT_USD, limits: RATE_LIMITS },
        ],
      },
    ],
    models: [
      {
        id: MODEL,
        contextLength: 8192,
        pricing: PRICING,
        deployments: [
          {
            id: 'fake',
            engine: 'openai',
            baseUrl: `${o.engineOrigin}/v1`,
            // Fewer than the open streams would queue them inside the gateway and the memory test
            // would not hold 1,000 engine streams open. The baseline proxy gets the same number.
            connections: o.upstreamConnections,
            // Admission in the path (precedence 13), with room for every stream the memory test
            // holds open: each request is admitted, counted and released, never queued.
            admission: { maxConcurrency: o.upstreamConnections * 2 },
          },
        ],
      },
      twoDeploymentModel(PREFIX_AWARE_MODEL, 'prefix-aware', o),
      twoDeploymentModel(LEAST_LOADED_MODEL, 'least-loaded', o),
    ],
  };
  return { config, apiKey, limitedKey };
}

/** A chat model with two deployments on the same engine, routed by `routing` (the long-chat rows). */
function twoDeploymentModel(id: string, routing: 'prefix-aware' | 'least-loaded', o: GatewayConfigInput): Record<string, unknown> {
  const deployment = (name: string) => ({ id: `${id}-${name}`, engine: 'openai', baseUrl: `${o.engineOrigin}/v1`, connections: o.upstreamConnections });
  return { id, contextLength: 8192, pricing: PRICING, routing, deployments: [deployment('a'), deployment('b')] };
}
