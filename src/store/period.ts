// Spend caps run per calendar month, in UTC; ledger rows and log lines carry ISO times. Both are
// formatted on the request path, so both are cached.

/** `YYYY-MM` of the month containing `at`. */
export function monthOf(at: Date): string {
  return at.toISOString().slice(0, 7);
}

let cached = { month: '', from: 0, until: 0 };

/** monthOf(now), formatted once a month instead of on every request. */
export function currentMonth(nowMs = Date.now()): string {
  if (nowMs < cached.from || nowMs >= cached.until) {
    const at = new Date(nowMs);
    cached = { month: monthOf(at), from: Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), 1), until: Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + 1, 1) };
  }
  return cached.month;
}

/** When the month containing `at` ends (the cap resets), as an ISO timestamp. */
export function monthResetsAt(at: Date): string {
  return new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + 1, 1)).toISOString();
}

let isoMs = -1;
let isoText = '';

/** `at` (ms since the epoch) as an ISO time; times in the same millisecond share the formatting. */
export function isoAt(ms: number): string {
  if (ms !== isoMs) {
    isoMs = ms;
    isoText = new Date(ms).toISOString();
  }
  return isoText;
}
