// The gateway of each policy's run, in front of four fresh simulators, and how a request picks its
// model name. Least-loaded and prefix-aware are the gateway's own choices: one model on the four
// deployments with `routing` set. The gateway has no round-robin, so the round-robin baseline is
// the client's: four models of one deployment each, and each request, whatever its conversation,
// names the next of them in turn. Every request still takes the same gateway path (auth, the
// model's one deployment, the stream relayed); only the choice moves to the client.
import { randomBytes } from 'node:crypto';

export const POLICIES = ['round-robin', 'least-loaded', 'prefix-aware'] as const;
export type Policy = (typeof POLICIES)[number];

export const MODEL = 'prefix-model';

export const deploymentId = (i: number) => `sim-${i}`;
const roundRobinModel = (i: number) => `${MODEL}-${i}`;

export function freshKey(): string {
  // Declared keys are found by their hash: any string of 20+ characters that is not sk-sluice-….
  return `bench-prefix-${randomBytes(20).toString('hex')}`;
}

export interface PrefixGatewayInput {
  policy: Policy;
  /** The simulators' base URLs, http://127.0.0.1:PORT/v1, in deployment order. */
  simUrls: readonly string[];
  storePath: string;
  apiKey: string;
}

export function prefixGatewayConfig(o: PrefixGatewayInput): Record<string, unknown> {
  const deployment = (url: string, i: number) => ({ id: deploymentId(i), engine: 'openai', baseUrl: url });
  const model = (id: string, deployments: unknown[], routing?: Policy) => ({
    id,
    ...(routing && { routing }),
    // Far above any prompt here: the gateway never needs to count one against the context.
    contextLength: 131_072,
    // Far above any wait in a run: a slow policy shows as time to first token, not as errors.
    timeouts: { firstTokenMs: 60_000, totalMs: 120_000, idleMs: 30_000 },
    deployments,
  });
  const models = o.policy === 'round-robin'
    ? o.simUrls.map((url, i) => model(roundRobinModel(i), [deployment(url, i)]))
    : [model(MODEL, o.simUrls.map(deployment), o.policy)];
  return {
    server: { host: '127.0.0.1', port: 0 },
    store: `sqlite://${o.storePath}`,
    logLevel: 'info',
    accounts: [{ id: 'prefix', keys: [{ key: o.apiKey, name: 'prefix-bench', models: models.map((m) => m.id) }] }],
    models,
  };
}

/** The model name of each next request: round-robin counts through the four over all requests. */
export function modelPicker(policy: Policy, deployments: number): () => string {
  if (policy !== 'round-robin') return () => MODEL;
  let next = 0;
  return () => roundRobinModel(next++ % deployments);
}

/** The deployments a run's requests may land on (x-sluice-deployment names one of these). */
export function deploymentIds(deployments: number): string[] {
  return Array.from({ length: deployments }, (_, i) => deploymentId(i));
}
