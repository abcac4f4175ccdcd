// The gateway of the overload benchmark: one model on one `openai` deployment pointing at the
// simulator, auth on with a key per priority class on one prepaid account, and admission either
// off (the gateway forwards everything, as a plain proxy does) or on with the class bounds of
// workload.ts.
import { randomBytes } from 'node:crypto';
import type { Priority } from '../../src/store/keys-repo.js';
import { CLASSES, QUEUE_WAIT_MS, queueLength } from './workload.js';

export const MODEL = 'overload-model';

export type ClassKeys = Record<Priority, string>;

export function freshKeys(): ClassKeys {
  // Declared keys are found by their hash: any string of 20+ characters that is not sk-sluice-….
  const key = (p: Priority) => `bench-${p}-${randomBytes(20).toString('hex')}`;
  return { critical: key('critical'), standard: key('standard'), batch: key('batch') };
}

export interface OverloadGatewayInput {
  /** The simulator's base URL, http://127.0.0.1:PORT/v1 */
  engineUrl: string;
  storePath: string;
  keys: ClassKeys;
  /** Admission's concurrency limit, or undefined for no admission at all. */
  admission?: { maxConcurrency: number; capacityRps: number };
}

/**
 * Without admission the engine must see every request, as behind a plain proxy: the upstream pool
 * is far larger than the backlog a run builds (~15 s × capacity), so nothing queues inside the
 * gateway instead.
 */
const UPSTREAM_CONNECTIONS = 4096;

/**
 * Slots of the engine's concurrency that standard and batch leave free for critical requests: one
 * in eight. Without it a critical arrival under sustained load waits for the next request to finish
 * (every ~20 ms here), and bursts of critical arrivals queue behind each other; the critical share
 * (10% of arrivals) averages under four requests in service, so two reserved slots absorb its bursts.
 */
export const CRITICAL_RESERVE_SHARE = 1 / 8;

/** Priced, so every request reserves and settles its cost, as a customer's does. */
export const BENCH_PRICING = { inputPerMTok: 0.15, outputPerMTok: 0.6 };

/**
 * What a load benchmark's gateway has besides its models: loopback on a free port, its own SQLite
 * store, the request log on (info), and one prepaid account `account` with a key per priority
 * class for `models`.
 */
export function benchGatewayBase(account: string, storePath: string, keys: ClassKeys, models: string[]): Record<string, unknown> {
  return {
    server: { host: '127.0.0.1', port: 0 },
    store: `sqlite://${storePath}`,
    logLevel: 'info',
    accounts: [{
      id: account,
      // Prepaid and priced: every request reserves and settles, as a customer's does. Never reached.
      credits: 1_000_000,
      keys: CLASSES.map((p) => ({ key: keys[p], name: `${account}-${p}`, priority: p, models })),
    }],
  };
}

export function overloadGatewayConfig(o: OverloadGatewayInput): Record<string, unknown> {
  const admission = o.admission && {
    maxConcurrency: o.admission.maxConcurrency,
    reserveCritical: Math.max(1, Math.round(o.admission.maxConcurrency * CRITICAL_RESERVE_SHARE)),
    queue: Object.fromEntries(CLASSES.map((p) => [p, { maxLength: queueLength(p, o.admission!.capacityRps), maxWaitMs: QUEUE_WAIT_MS[p] }])),
  };
  return {
    ...benchGatewayBase('overload', o.storePath, o.keys, [MODEL]),
    models: [{
      id: MODEL,
      pricing: BENCH_PRICING,
      // Far above anything a run waits: the gateway's own timeouts must not shed load for it (a
      // plain proxy has none); only admission, when on, does.
      timeouts: { firstTokenMs: 60_000, totalMs: 120_000, idleMs: 30_000 },
      deployments: [{
        id: 'sim',
        engine: 'openai',
        baseUrl: o.engineUrl,
        connections: UPSTREAM_CONNECTIONS,
        ...(admission && { admission }),
      }],
    }],
  };
}
