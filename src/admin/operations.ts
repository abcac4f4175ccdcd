// The admin operations, shared by the admin API and the CLI. Inputs are validated by the caller
// (admin/inputs.ts); failures are catalog errors.
import { GatewayError } from '../errors/gateway-error.js';
import { generateKey } from '../keys/key-format.js';
import { AlreadyExists } from '../store/accounts-repo.js';
import { nanosToUsd, usdToNanos } from '../store/money.js';
import { monthOf } from '../store/period.js';
import type { Store } from '../store/store.js';
import type { CreateAccountInput, CreateKeyInput, PatchAccountInput, PatchKeyInput, UsageQuery } from './inputs.js';
import { accountView, keyView } from './views.js';

const nanosOrNull = (usd: number | null | undefined) => (usd === undefined || usd === null ? null : usdToNanos(usd));

export interface AdminHooks {
  /** After a change to keys or accounts (drops cached lookups). */
  onChange?: () => void;
  /** Before reading balances or usage (writes this replica's pending ledger rows). */
  beforeRead?: () => Promise<void>;
}

async function view(store: Store, id: string) {
  const a = await store.accounts.get(id);
  if (!a) throw new GatewayError('account_not_found', { message: `No account '${id}'.` });
  return accountView(a, await store.billing.spent(`account:${id}`, monthOf(new Date())), await store.billing.leased(id));
}

async function requireAccount(store: Store, id: string): Promise<void> {
  if (!(await store.accounts.get(id))) throw new GatewayError('account_not_found', { message: `No account '${id}'.` });
}

async function findKey(store: Store, id: string) {
  const k = await store.keys.findById(id);
  if (!k) throw new GatewayError('key_not_found', { message: `No API key '${id.slice(0, 64)}'.` });
  return k;
}

export function createAdminOperations(store: Store, hooks: AdminHooks = {}) {
  const onChange = hooks.onChange ?? (() => {});
  const settled = hooks.beforeRead ?? (async () => {});
  return {
    async createAccount(input: CreateAccountInput) {
      try {
        await store.accounts.create({ id: input.id, status: input.status, verified: input.verified, plan: input.plan, creditsNanos: nanosOrNull(input.credits), monthlyCapNanos: nanosOrNull(input.monthlySpendCap), limits: input.limits ?? null });
      } catch (err) {
        if (err instanceof AlreadyExists) throw new GatewayError('already_exists', { param: 'id', message: `An account '${input.id}' already exists.` });
        throw err;
      }
      return view(store, input.id);
    },

    async getAccount(id: string) {
      await settled();
      return view(store, id);
    },

    async listAccounts() {
      await settled();
      const period = monthOf(new Date());
      return Promise.all((await store.accounts.list()).map(async (a) => accountView(a, await store.billing.spent(`account:${a.id}`, period), await store.billing.leased(a.id))));
    },

    async updateAccount(id: string, patch: PatchAccountInput) {
      await view(store, id);
      await store.accounts.update(id, { status: patch.status, verified: patch.verified, plan: patch.plan, monthlyCapNanos: patch.monthlySpendCap === undefined ? undefined : nanosOrNull(patch.monthlySpendCap), limits: patch.limits });
      onChange();
      return view(store, id);
    },

    async addCredits(id: string, amountUsd: number) {
      await view(store, id);
      await store.accounts.addCredits(id, usdToNanos(amountUsd));
      onChange();
      return view(store, id);
    },

    async createKey(accountId: string, input: CreateKeyInput) {
      await view(store, accountId);
      const k = generateKey();
      const rec = await store.keys.create({
        id: k.id,
        accountId,
        keyHash: k.hash,
        name: input.name ?? null,
        models: input.models ?? null,
        priority: input.priority,
        expiresAt: input.expiresAt ? new Date(input.expiresAt).toISOString() : null,
        spendCapNanos: nanosOrNull(input.spendCap),
        limits: input.limits ?? null,
      });
      return { ...keyView(rec), key: k.key };
    },

    async listKeys(accountId: string) {
      await view(store, accountId);
      return (await store.keys.listForAccount(accountId)).map(keyView);
    },

    async getKey(id: string) {
      return keyView(await findKey(store, id));
    },

    async updateKey(id: string, patch: PatchKeyInput) {
      await findKey(store, id);
      const rec = await store.keys.update(id, {
        name: patch.name,
        models: patch.models,
        priority: patch.priority,
        expiresAt: patch.expiresAt ? new Date(patch.expiresAt).toISOString() : patch.expiresAt,
        spendCapNanos: patch.spendCap === undefined ? undefined : nanosOrNull(patch.spendCap),
        limits: patch.limits,
      });
      onChange();
      return keyView(rec!);
    },

    async revokeKey(id: string) {
      await findKey(store, id);
      await store.keys.revoke(id);
      onChange();
      return keyView((await store.keys.findById(id))!);
    },

    /** Deletes every stored response of the account (Responses API), in bounded batches. */
    async deleteResponses(accountId: string) {
      await requireAccount(store, accountId);
      const deleted = await store.responses.deleteAccount(accountId);
      return { object: 'responses.deleted' as const, account: accountId, deleted };
    },

    async usage(q: UsageQuery) {
      await settled();
      const r = await store.usage.report(q);
      const money = <T extends { costNanos: number }>({ costNanos, ...rest }: T) => ({ ...rest, cost: nanosToUsd(costNanos) });
      return { filter: q, totals: money(r.totals), days: r.days.map(money) };
    },
  };
}

export type AdminOperations = ReturnType<typeof createAdminOperations>;
