// Money is stored as integer nano-USD; the API speaks USD. 1 token at $0.20 per million tokens is
// 200 nano-USD, so per-token prices stay exact integers for any price with 3 decimals per MTok.
export const NANOS_PER_USD = 1_000_000_000;

export function usdToNanos(usd: number): number {
  return Math.round(usd * NANOS_PER_USD);
}

export function nanosToUsd(nanos: number): number {
  return nanos / NANOS_PER_USD;
}

/** Database bigints arrive as strings from PostgreSQL and numbers from SQLite. */
export function toNumber(v: number | string | bigint | null): number | null {
  return v === null ? null : Number(v);
}
