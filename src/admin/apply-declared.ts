// Applies the config file's accounts and keys at start: created when new, updated when present,
// never duplicated (keys are matched by their hash). Keys missing from the file are left alone:
// revoke them explicitly.
import type { DeclaredAccount } from '../config/schema.js';
import { generateKey, hashKey } from '../keys/key-format.js';
import { usdToNanos } from '../store/money.js';
import type { Store } from '../store/store.js';

const optionalNanos = (usd: number | null | undefined) => (usd === undefined || usd === null ? null : usdToNanos(usd));

export async function applyDeclaredAccounts(store: Store, accounts: DeclaredAccount[]): Promise<void> {
  for (const a of accounts) {
    await store.accounts.upsertDeclared({
      id: a.id,
      status: a.status,
      verified: a.verified,
      plan: a.plan,
      creditsNanos: optionalNanos(a.credits),
      monthlyCapNanos: optionalNanos(a.monthlySpendCap),
      limits: a.limits ?? null,
    });
    for (const k of a.keys) {
      await store.keys.upsertDeclared({
        id: () => generateKey().id,
        accountId: a.id,
        keyHash: hashKey(k.key),
        name: k.name ?? null,
        models: k.models ?? null,
        priority: k.priority,
        expiresAt: k.expiresAt ?? null,
        spendCapNanos: optionalNanos(k.spendCap),
        limits: k.limits ?? null,
      });
    }
  }
}
