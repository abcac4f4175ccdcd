// Spend caps run per calendar month, in UTC.

/** `YYYY-MM` of the month containing `at`. */
export function monthOf(at: Date): string {
  return at.toISOString().slice(0, 7);
}

/** When the month containing `at` ends (the cap resets), as an ISO timestamp. */
export function monthResetsAt(at: Date): string {
  return new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + 1, 1)).toISOString();
}
