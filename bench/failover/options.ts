// The failover scenario's plan: how long each phase runs, full and --quick, and when the engine is
// killed (half-way through the arrivals) and started again (near their end). The full run takes
// about 32 s on a 2-core machine, --quick about 16 s (CI's smoke check).
import { fileURLToPath } from 'node:url';

export interface FailoverOptions {
  scenario: 'failover';
  quick: boolean;
  /** Open-loop arrivals, seconds. */
  arrivalSeconds: number;
  /** When the engine is killed, seconds after the first arrival: half-way. */
  killAtSeconds: number;
  /** When it is started again on the same port, seconds after the first arrival. */
  restartAtSeconds: number;
  /** After the last arrival, how long unfinished requests may still finish before they are given up. */
  graceSeconds: number;
  /** Closed-loop capacity measurement of the survivor alone, seconds, after its warm-up. */
  calibrationSeconds: number;
  calibrationWarmupSeconds: number;
  jsonPath: string;
}

export const DEFAULT_FAILOVER_JSON = fileURLToPath(new URL('../../../bench/results/failover.json', import.meta.url));

/**
 * The restart comes at 80% of the arrivals: late enough that the phase with one engine is several
 * seconds long (its TTFT is the survivor's under the whole load), early enough that the restarted
 * engine serves for a while before the arrivals end.
 */
const RESTART_SHARE = 0.8;

export function failoverOptions(quick: boolean, arrivalSeconds: number | undefined, jsonPath: string | undefined): FailoverOptions {
  const arrivals = arrivalSeconds ?? (quick ? 10 : 24);
  return {
    scenario: 'failover',
    quick,
    arrivalSeconds: arrivals,
    killAtSeconds: arrivals / 2,
    restartAtSeconds: arrivals * RESTART_SHARE,
    graceSeconds: quick ? 2 : 3,
    calibrationSeconds: quick ? 2 : 3,
    calibrationWarmupSeconds: quick ? 0.5 : 1,
    jsonPath: jsonPath ?? DEFAULT_FAILOVER_JSON,
  };
}

/** Rough wall time, seconds: printed up front, and the watchdog's basis. */
export function estimateFailoverSeconds(o: FailoverOptions): number {
  // Two simulators and a gateway start one after another (~2.5 s on two shared cores).
  const startup = 2.5;
  const calibration = o.calibrationSeconds + o.calibrationWarmupSeconds + 0.5;
  // The load is below capacity: the last requests end within a second of the last arrival.
  const run = o.arrivalSeconds + 1;
  // Nothing is left in flight for the gateway to drain.
  const stop = 0.5;
  return Math.ceil(startup + calibration + run + stop);
}
