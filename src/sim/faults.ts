// Which fault, if any, a simulated request suffers: the x-sluice-fault header where the deployment
// obeys it, otherwise a draw against the configured fault rates.
import { FAULT_NAMES, type FaultName, type SimSettings } from '../config/schema.js';

export const FAULT_HEADER = 'x-sluice-fault';

/** Chunks a `cut-stream` fault lets through before the stream stops. */
export const CUT_AFTER_CHUNKS = 3;

export function parseFault(value: string | string[] | undefined): FaultName | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  return v !== undefined && (FAULT_NAMES as readonly string[]).includes(v) ? (v as FaultName) : undefined;
}

export function drawFault(rates: SimSettings['faultRates'], rand: () => number = Math.random): FaultName | undefined {
  for (const name of FAULT_NAMES) {
    const p = rates[name];
    if (p !== undefined && p > 0 && rand() < p) return name;
  }
  return undefined;
}
