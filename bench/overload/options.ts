// The overload scenario's plan: how long each phase runs, full and --quick. The full run takes
// about a minute on a 2-core machine, --quick about 25 s (CI's smoke check).
import { fileURLToPath } from 'node:url';
import { ENGINE } from './workload.js';

export interface OverloadOptions {
  scenario: 'overload';
  quick: boolean;
  /** Open-loop arrivals per run, seconds. */
  arrivalSeconds: number;
  /** After the last arrival, how long unfinished requests may still finish before they are given up. */
  graceSeconds: number;
  /** Closed-loop capacity measurement, seconds, after its warm-up. */
  calibrationSeconds: number;
  calibrationWarmupSeconds: number;
  /** Sequential requests timed on the idle system (after untimed warm-up ones). */
  idleSamples: number;
  idleWarmup: number;
  jsonPath: string;
}

export const DEFAULT_OVERLOAD_JSON = fileURLToPath(new URL('../../../bench/results/overload.json', import.meta.url));

export function overloadOptions(quick: boolean, arrivalSeconds: number | undefined, jsonPath: string | undefined): OverloadOptions {
  return {
    scenario: 'overload',
    quick,
    arrivalSeconds: arrivalSeconds ?? (quick ? 6 : 15),
    graceSeconds: quick ? 2 : 4,
    calibrationSeconds: quick ? 2 : 3,
    calibrationWarmupSeconds: quick ? 0.5 : 1,
    idleSamples: quick ? 10 : 25,
    idleWarmup: 3,
    jsonPath: jsonPath ?? DEFAULT_OVERLOAD_JSON,
  };
}

/** Rough wall time, seconds: printed up front, and the watchdog's basis. */
export function estimateOverloadSeconds(o: OverloadOptions): number {
  const startup = 2 * 2;
  // An idle one-token request takes the engine's fixed first-token time plus a few ms.
  const idle = 2 * (o.idleSamples + o.idleWarmup) * (ENGINE.ttftMs + 20) / 1000;
  const calibration = o.calibrationSeconds + o.calibrationWarmupSeconds + 1;
  // Without admission the run always lasts until its requests are given up; with it, the queue
  // is short, and the run ends soon after the last arrival.
  const runs = (o.arrivalSeconds + o.graceSeconds) + (o.arrivalSeconds + 1);
  return Math.ceil(startup + idle + calibration + runs + 2);
}
