// What the gateway's billing needs from a store: batched reservations, batched settlements, and a
// scope's spend. BillingRepo answers it on the calling thread; WorkerBilling answers it from a
// worker thread (an SQLite file, whose driver is synchronous).
import type { LeaseRow, Release, Reservation, ReserveOutcome, Settlement } from './billing-repo.js';

export interface BillingStore {
  reserve(batch: Reservation[]): Promise<ReserveOutcome[]>;
  /** `journalText`: the same settlements as JSON lines, when the caller has them. */
  settle(batch: Settlement[], journalText?: string): Promise<void>;
  release(items: Release[]): Promise<void>;
  leasesOf(holderPrefix: string): Promise<LeaseRow[]>;
  dropEmptyLeases(holder: string): Promise<void>;
  spent(scope: string, period: string): Promise<number>;
  leased(accountId: string): Promise<number>;
  close?(): Promise<void>;
}
