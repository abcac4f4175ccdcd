// What the failover benchmark sends, and to what: two simulators of the overload benchmark's shape
// behind one model, Poisson arrivals at a share of ONE engine's capacity (so the survivor alone can
// carry the load once the other is killed), half streamed and half not, one priority class. The
// schedule is drawn from fixed seeds, so every run sends the same kind of traffic.
import { mulberry32 } from '../../src/sim/rng.js';
import { MESSAGES, poissonSchedule, requestBody, type Arrival } from '../overload/workload.js';

/** The model under test: two `openai` deployments of equal weight, one simulator each. */
export const MODEL = 'failover-model';
/** The same survivor engine alone, under another model name: its capacity is measured through it. */
export const CALIBRATION_MODEL = 'failover-calibration';

/** Deployment ids; `KILLED` is SIGKILLed half-way through the arrivals, `SURVIVOR` carries on. */
export const SURVIVOR = 'sim-a';
export const KILLED = 'sim-b';
export const DEPLOYMENTS = [SURVIVOR, KILLED] as const;
export type DeploymentId = (typeof DEPLOYMENTS)[number];

/**
 * Offered load as a share of one engine's capacity: both engines share it at 30% each before the
 * kill, and the survivor runs at 60% after it, loaded but with headroom for the retried requests.
 */
export const LOAD_FACTOR = 0.6;

/** Share of requests that stream; the rest ask for one JSON answer. */
export const STREAM_SHARE = 0.5;

/**
 * Active health checks on both deployments. 250 ms apart, so a dead engine is out within about
 * half a second (two failed checks), while the checks cost the engines nothing that shows (8 GETs
 * a second for two). The timeout is as short: a live simulator answers /health in a millisecond.
 */
export const HEALTH_CHECK = { path: '/health', intervalMs: 250, timeoutMs: 250, unhealthyAfter: 2, healthyAfter: 1 } as const;

/**
 * The retry budget's defaults (the model sets none, as the brief asks; src/config/schema.ts):
 * retries may add `budgetRatio` of the model's requests plus `minPerSecond`, over 10 s windows.
 */
export const RETRY_DEFAULTS = { budgetRatio: 0.2, minPerSecond: 5 } as const;

export interface FailoverArrival extends Arrival {
  stream: boolean;
}

/** Fixed seeds: the arrivals and lengths as the overload benchmark draws them, the streaming coin apart. */
const SEED = 13;

/** Poisson arrivals at `ratePerS` for `seconds`, all `standard`, half of them streamed. */
export function failoverSchedule(ratePerS: number, seconds: number): FailoverArrival[] {
  const coin = mulberry32(SEED + 1);
  return poissonSchedule(ratePerS, seconds, SEED).map((a) => ({ ...a, priority: 'standard', stream: coin() < STREAM_SHARE }));
}

/**
 * Each request is a conversation of its own, as from many users: a model with several deployments
 * routes prefix-aware by default, placing a new conversation by a hash of its first user message,
 * so one prompt shared by every request would send them all to the same deployment first.
 */
export function failoverBody(a: FailoverArrival): string {
  const messages = MESSAGES.map((m) => ({ ...m, content: `Conversation ${a.index}. ${m.content}` }));
  return requestBody(MODEL, a.maxTokens, a.stream, messages);
}
