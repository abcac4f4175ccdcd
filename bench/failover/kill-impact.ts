// What the kill caught, from the clients' own bookkeeping: which requests were in flight on the
// killed engine at that moment. Only a stream that already had its first byte from it cannot be
// saved (the contract retries only before the first byte reaches the client); every other request
// in flight there can be retried on the survivor, unseen but for its time and its attempts.
import type { Request } from './phases.js';

export interface KillImpact {
  /** Requests sent before the kill and not yet ended at it (on either engine). */
  inFlight: number;
  /** Of them, answered after a retry (x-sluice-attempts ≥ 2): the ones the killed engine held and the gateway saved. */
  retried: number;
  /** Streams whose first byte had come from the killed engine and which had not ended at the kill. */
  midStream: number;
  /**
   * Streams whose first byte from the killed engine reached the client only after the kill: the
   * engine sent it before it died, and it was still on its way (socket buffers, the gateway's turn).
   */
  inThePipe: number;
  /** The most the clients can see go wrong: midStream + inThePipe. */
  unsaveable: number;
}

export function killImpact(sent: readonly Request[], killed: string, killAt: number, restartAt: number): KillImpact {
  const out: KillImpact = { inFlight: 0, retried: 0, midStream: 0, inThePipe: 0, unsaveable: 0 };
  for (const r of sent) {
    const end = r.sentAt + r.elapsedMs;
    if (r.sentAt < killAt && end > killAt) {
      out.inFlight++;
      if ((r.attempts ?? 0) >= 2) out.retried++;
    }
    if (!r.arrival.stream || r.status !== 200 || r.deployment !== killed || r.headersMs === undefined) continue;
    const firstByte = r.sentAt + r.headersMs;
    if (firstByte <= killAt && end > killAt) out.midStream++;
    // Before the restart: what the restarted engine sends is not left over from the dead one.
    else if (firstByte > killAt && firstByte < restartAt) out.inThePipe++;
  }
  out.unsaveable = out.midStream + out.inThePipe;
  return out;
}
