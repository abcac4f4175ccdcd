// Credit leases: admission without a database round trip. When a request's likely cost is not
// covered by what this process already holds for its account and key, the process reserves that
// cost plus a top-up (room for the next LEASE_REQUESTS similar requests) in one database
// reservation; the following requests are admitted from the top-up in memory. Every amount a
// request holds was reserved in the database first, so concurrent requests, on one replica or
// many, still cannot overdraw an account or pass a cap.
//
// The top-up is given back when the lease has been idle for IDLE_MS, when an admin reads
// balances, and at shutdown; a crashed process's leases are given back by the next start
// (Billing.recover). Near a limit a top-up is refused: the lease then reserves exactly each
// request's cost, as if there were no lease, for LEAN_MS.
import { reservationGroup, type Release, type Reservation, type ReserveOutcome } from '../store/billing-repo.js';

/** Requests a top-up is sized for. */
const LEASE_REQUESTS = 32;
/** A top-up never holds more than this (nano-USD: $1), however large the requests. */
const MAX_TOP_UP_NANOS = 1_000_000_000;
const IDLE_MS = 2_000;
const LEAN_MS = 5_000;

interface Lease {
  /** Reserved in the database, held by no request. */
  spare: number;
  /** The reservation group (account, key, period, limits) this lease is for. */
  group: Reservation;
  lastUsed: number;
  /** Until then, top-ups are not asked for: one was refused. */
  leanUntil: number;
}

export type ReserveFn = (r: Reservation) => Promise<ReserveOutcome>;
export type ReleaseFn = (items: Release[]) => Promise<void>;

export class CreditLeases {
  private readonly leases = new Map<string, Lease>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(readonly holder: string, private readonly reserve: ReserveFn, private readonly release: ReleaseFn) {
    this.sweeper = setInterval(() => void this.giveBack(Date.now() - IDLE_MS).catch(() => {}), IDLE_MS / 2);
    this.sweeper.unref();
  }

  private leaseFor(r: Reservation, now: number): Lease {
    const key = reservationGroup(r);
    let lease = this.leases.get(key);
    if (!lease) {
      lease = { spare: 0, group: { ...r, amountNanos: 0, lease: this.holder }, lastUsed: now, leanUntil: 0 };
      this.leases.set(key, lease);
    }
    lease.lastUsed = now;
    return lease;
  }

  /** Holds `r.amountNanos` for one request: from the lease when it covers it, else reserved anew. */
  hold(r: Reservation, now = Date.now()): ReserveOutcome | Promise<ReserveOutcome> {
    const lease = this.leaseFor(r, now);
    if (lease.spare >= r.amountNanos) {
      lease.spare -= r.amountNanos;
      return 'ok'; // no promise: the usual case costs no turn of the microtask queue
    }
    return this.reserveFor(lease, r, now);
  }

  private async reserveFor(lease: Lease, r: Reservation, now: number): Promise<ReserveOutcome> {
    // The request's own amount is reserved for it alone (so a concurrent request can never take
    // it); the top-up, if granted, becomes spare.
    const topUp = lease.leanUntil > now ? 0 : Math.min(r.amountNanos * LEASE_REQUESTS, MAX_TOP_UP_NANOS);
    if (topUp > 0) {
      const outcome = await this.reserve({ ...lease.group, amountNanos: r.amountNanos + topUp });
      if (outcome === 'ok') {
        lease.spare += topUp;
        return 'ok';
      }
      lease.leanUntil = now + LEAN_MS;
    }
    return this.reserve({ ...lease.group, amountNanos: r.amountNanos });
  }

  /**
   * A request that held `held` ends having cost `cost`: what it did not use returns to the lease.
   * Returns what the ledger row settles against the database's reservation (the rest of a cost
   * above `held` is charged directly).
   */
  settle(r: Reservation, held: number, cost: number, now = Date.now()): number {
    const used = Math.min(held, cost);
    // A lease given back while this request ran is opened again: its spare goes back the usual way.
    this.leaseFor(r, now).spare += held - used;
    return used;
  }

  /** Gives back the spare of every lease last used before `before` (all of them by default). */
  async giveBack(before = Infinity): Promise<void> {
    const items: Release[] = [];
    for (const [key, lease] of this.leases) {
      if (lease.lastUsed >= before) continue;
      if (lease.spare > 0) items.push({ reservation: lease.group, amountNanos: lease.spare });
      lease.spare = 0;
      this.leases.delete(key);
    }
    try {
      await this.release(items);
    } catch (err) {
      // Not given back (the database is down): the spare stays here, to be given back next time.
      for (const { reservation, amountNanos } of items) this.leaseFor(reservation, Date.now()).spare += amountNanos;
      throw err;
    }
  }

  stop(): void {
    clearInterval(this.sweeper);
  }
}
