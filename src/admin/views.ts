// What the admin API and CLI show of accounts and keys: USD amounts, never a key's hash or secret.
import type { Account, ApiKeyRecord } from '../store/store.js';
import { nanosToUsd } from '../store/money.js';

const usdOrNull = (n: number | null) => (n === null ? null : nanosToUsd(n));

export function accountView(a: Account, spentThisMonthNanos: number) {
  return {
    id: a.id,
    status: a.status,
    verified: a.verified,
    plan: a.plan,
    credits: usdOrNull(a.creditsNanos),
    monthlySpendCap: usdOrNull(a.monthlyCapNanos),
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
    expiresAt: k.expiresAt,
    revokedAt: k.revokedAt,
    createdAt: k.createdAt,
    lastUsedAt: k.lastUsedAt,
  };
}
