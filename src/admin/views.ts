// What the admin API and CLI show of accounts and keys: USD amounts, never a key's hash or secret.
import type { Account, ApiKeyRecord } from '../store/store.js';
import { nanosToUsd } from '../store/money.js';

const usdOrNull = (n: number | null) => (n === null ? null : nanosToUsd(n));

/**
 * `leasedNanos`: credit gateways hold in leases for this account (billing/credit-leases.ts). It
 * is still the account's money, so the balance shown counts it: `credits` is the balance after
 * every settled charge.
 */
export function accountView(a: Account, spentThisMonthNanos: number, leasedNanos: number) {
  return {
    id: a.id,
    status: a.status,
    verified: a.verified,
    plan: a.plan,
    credits: a.creditsNanos === null ? null : nanosToUsd(a.creditsNanos + leasedNanos),
    monthlySpendCap: usdOrNull(a.monthlyCapNanos),
    limits: a.limits,
    spentThisMonth: nanosToUsd(spentThisMonthNanos),
    createdAt: a.createdAt,
  };
}

export function keyView(k: ApiKeyRecord) {
  return {
    id: k.id,
    accountId: k.accountId,
    name: k.name,
    models: k.models,
    priority: k.priority,
    spendCap: usdOrNull(k.spendCapNanos),
    limits: k.limits,
    expiresAt: k.expiresAt,
    revokedAt: k.revokedAt,
    createdAt: k.createdAt,
    lastUsedAt: k.lastUsedAt,
  };
}
