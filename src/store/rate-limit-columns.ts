// Rate limits as stored: two nullable integer columns on accounts and api_keys, read back as one
// object (or null) so callers never handle a half-set pair of columns.
import type { RateLimits } from '../config/schema.js';

export interface RateLimitColumns {
  rpm_limit: number | null;
  tpm_limit: number | null;
}

/** null when neither limit is set; otherwise only the fields that are. */
export function toRateLimits(r: RateLimitColumns): RateLimits | null {
  if (r.rpm_limit === null && r.tpm_limit === null) return null;
  return { ...(r.rpm_limit !== null && { rpm: Number(r.rpm_limit) }), ...(r.tpm_limit !== null && { tpm: Number(r.tpm_limit) }) };
}

/** Both columns at once: a new value replaces the whole pair, null or absent clears both. */
export function rateLimitColumns(l: RateLimits | null | undefined): RateLimitColumns {
  return { rpm_limit: l?.rpm ?? null, tpm_limit: l?.tpm ?? null };
}
