// What the overload benchmark sends, and to what: the simulated engine's shape, the traffic mix,
// the first-token objective and the admission bounds, in one place (bench/README.md explains
// each choice). The arrival schedule is drawn from a fixed seed, so both runs of one benchmark
// (admission off, admission on) receive exactly the same requests at the same moments.
import { intBetween, mulberry32 } from '../../src/sim/rng.js';
import type { Priority } from '../../src/store/keys-repo.js';
import { simFlags } from '../sim-flags.js';

export const CLASSES: readonly Priority[] = ['critical', 'standard', 'batch'];

/** The mix: 10% critical, 60% standard, 30% batch. */
export const MIX: Record<Priority, number> = { critical: 0.1, standard: 0.6, batch: 0.3 };

/** Offered load as a multiple of the capacity measured in the same run (the 2×). */
export const OVERLOAD_FACTOR = 2;

/**
 * The simulated engine, as `sluice sim` flags. Engine concurrency C = maxNumSeqs. The knee below C
 * makes the capacity real: past it a step is compute-bound, so at C the engine's throughput has
 * flattened and more sequences would only slow every one of them. The engine-side queue is all but
 * unbounded, as vLLM's waiting queue is: without admission, everything queues in the engine.
 * outputTokens is far above any max_tokens sent, so max_tokens sets each answer's exact length.
 */
export const ENGINE = {
  maxNumSeqs: 16,
  kneeSeqs: 8,
  stepGrowth: 0.01,
  itlMs: 10,
  ttftMs: 150,
  prefillMsPerToken: 0.01,
  maxQueue: 100_000,
  outputTokens: 4096,
} as const;

export function engineFlags(): string[] {
  return simFlags(ENGINE);
}

/**
 * Answer lengths (max_tokens), drawn per request. Varied, as real traffic is: with one fixed
 * length, requests admitted together finish together, forever (a saturated engine refills a slot
 * the moment it frees), and a critical request could wait most of an answer for a slot.
 */
export const OUTPUT_TOKENS = { min: 8, max: 24 } as const;

/** First-token objective: a request counts towards goodput only if its first token came this soon. */
export const OBJECTIVE_MS = 1_000;

/**
 * Admission's per-class waits. Critical: long (it must never be shed; it is a fifth of capacity).
 * Standard: half the objective, so a standard request that waited the longest still has the other
 * half for its first token. Batch: short, batch clients retry later. Each class's maxLength is the
 * measured capacity × its wait (queueLength()): no more waiters than the engine can start within
 * the wait, so a hopeless request is refused at once rather than after waiting for nothing.
 */
export const QUEUE_WAIT_MS: Record<Priority, number> = { critical: 10_000, standard: OBJECTIVE_MS / 2, batch: 250 };
export const CRITICAL_MAX_LENGTH = 1_000;

export function queueLength(priority: Priority, capacityRps: number): number {
  if (priority === 'critical') return CRITICAL_MAX_LENGTH;
  return Math.max(1, Math.ceil(capacityRps * QUEUE_WAIT_MS[priority] / 1000));
}

/** Every request's prompt: short, so the prefill stalls the batch as little as a chunked prefill would. */
export const MESSAGES = [{ role: 'user', content: 'Summarize the status of the overnight jobs in one sentence.' }];

/** A streamed request asks for the usage event; a non-streamed answer carries its usage anyway. */
export function requestBody(model: string, maxTokens: number, stream = true, messages: readonly object[] = MESSAGES): string {
  if (!stream) return JSON.stringify({ model, messages, max_tokens: maxTokens });
  return JSON.stringify({ model, messages, max_tokens: maxTokens, stream: true, stream_options: { include_usage: true } });
}

export interface Arrival {
  index: number;
  /** When to send it, ms after the start of the run's arrivals. */
  atMs: number;
  priority: Priority;
  maxTokens: number;
}

/** Fixed, so every benchmark run (and both runs within it) draws the same kind of schedule. */
const SEED = 12;

/** Poisson arrivals at `ratePerS` for `seconds`, each with its class and answer length. */
export function poissonSchedule(ratePerS: number, seconds: number, seed = SEED): Arrival[] {
  const rand = mulberry32(seed);
  const out: Arrival[] = [];
  let t = 0;
  for (;;) {
    // Exponential gaps; 1 − u is in (0, 1], so the log is finite.
    t += (-Math.log(1 - rand()) / ratePerS) * 1000;
    if (t >= seconds * 1000) return out;
    const u = rand();
    const priority: Priority = u < MIX.critical ? 'critical' : u < MIX.critical + MIX.standard ? 'standard' : 'batch';
    out.push({ index: out.length, atMs: t, priority, maxTokens: intBetween(rand, OUTPUT_TOKENS.min, OUTPUT_TOKENS.max) });
  }
}

/** Answer lengths for the calibration's closed loop, from the same distribution. */
export function lengthDrawer(seed = SEED + 1): () => number {
  const rand = mulberry32(seed);
  return () => intBetween(rand, OUTPUT_TOKENS.min, OUTPUT_TOKENS.max);
}
