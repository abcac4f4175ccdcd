// `sluice accounts …`, `sluice keys …`, `sluice usage …`: the admin operations on the store named
// by the config, with tables for people and --json for scripts. `sluice models …` and `sluice
// requests …` (a running gateway, over its admin API) are registered from their own files.
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import type { z } from 'zod';
import { loadConfig } from '../config/load.js';
import { createAdminOperations, type AdminOperations } from '../admin/operations.js';
import { addCreditsInput, createAccountInput, createKeyInput, patchAccountInput, patchKeyInput, usageQuery } from '../admin/inputs.js';
import { validateBody } from '../openai/validate.js';
import { openStore } from '../store/open.js';
import { createKeyFor, LOCAL_ACCOUNT } from '../keys/bootstrap.js';
import { print } from './output.js';
import { registerModelsCommands } from './models-commands.js';
import { registerRequestsCommands } from './requests-commands.js';
import { usdToNanos } from '../store/money.js';
import type { RateLimits } from '../config/schema.js';

interface Common {
  config?: string;
  json?: boolean;
}

async function withOps<T>(opts: Common, run: (ops: AdminOperations) => Promise<T>): Promise<T> {
  const store = await openStore(loadConfig(opts.config).store);
  try {
    return await run(createAdminOperations(store));
  } finally {
    await store.close();
  }
}

function num(v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError('expected a number');
  return n;
}

const bool = (v: string): boolean => {
  if (v === 'true' || v === 'yes') return true;
  if (v === 'false' || v === 'no') return false;
  throw new InvalidArgumentError('expected true or false');
};

/**
 * `none` (remove, on update) or a number; the schema then checks the number. Kept as the string
 * 'none': commander replaces a parser's null with ''.
 */
const orNone = (v: string): number | 'none' => (v === 'none' ? v : num(v));
const noneToNull = <T>(v: T | 'none'): T | null => (v === 'none' ? null : v);

type LimitFlags = { rpm?: number | 'none'; tpm?: number | 'none' };

/**
 * --rpm/--tpm over the current limits: a flag replaces only its own limit and keeps the other,
 * `none` removes it. undefined when neither flag was given (limits unchanged).
 */
function mergeLimits(current: RateLimits | null, o: LimitFlags): RateLimits | null | undefined {
  if (o.rpm === undefined && o.tpm === undefined) return undefined;
  const next: RateLimits = { ...current };
  for (const f of ['rpm', 'tpm'] as const) {
    if (o[f] === 'none') delete next[f];
    else if (o[f] !== undefined) next[f] = o[f];
  }
  return Object.keys(next).length > 0 ? next : null;
}

const limitOptions = (c: Command, update: boolean) => {
  const how = update ? '; only this limit changes, `none` removes it' : '';
  return c.option('--rpm <n>', `requests per minute${how}`, orNone).option('--tpm <n>', `tokens (prompt + completion) per minute${how}`, orNone);
};

/** Drops undefined flags so the schema's strict checks see only what was given. */
function input<S extends z.ZodType>(schema: S, values: Record<string, unknown>): z.infer<S> {
  return validateBody(schema, Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined)));
}

const patterns = (v: string | undefined) => v?.split(',').map((m) => m.trim()).filter(Boolean);

const common = (c: Command) => c.option('-c, --config <file>', 'config file (YAML); its store is used').option('--json', 'JSON output for scripts', false);
const ACCOUNT_COLUMNS = ['id', 'status', 'verified', 'plan', 'credits', 'monthlySpendCap', 'limits', 'spentThisMonth'];
const KEY_COLUMNS = ['id', 'name', 'models', 'priority', 'spendCap', 'limits', 'expiresAt', 'revokedAt', 'lastUsedAt'];

export function registerAdminCommands(program: Command): void {
  const accounts = program.command('accounts').description('manage accounts');
  limitOptions(common(accounts.command('create <id>').description('create an account')), false)
    .option('--credits <usd>', 'prepaid balance (omit for postpaid)', num)
    .option('--monthly-spend-cap <usd>', 'spend cap per calendar month', num)
    .option('--verified <bool>', 'verified account', bool)
    .option('--plan <name>', 'plan name')
    .action(async (id: string, o: Common & LimitFlags & { credits?: number; monthlySpendCap?: number; verified?: boolean; plan?: string }) =>
      print(await withOps(o, (ops) => ops.createAccount(input(createAccountInput, { id, credits: o.credits, monthlySpendCap: o.monthlySpendCap, verified: o.verified, plan: o.plan, limits: mergeLimits(null, o) }))), o.json ?? false, ACCOUNT_COLUMNS));
  common(accounts.command('get <id>').description('show an account'))
    .action(async (id: string, o: Common) => print(await withOps(o, (ops) => ops.getAccount(id)), o.json ?? false, ACCOUNT_COLUMNS));
  common(accounts.command('list').description('list accounts'))
    .action(async (o: Common) => print(await withOps(o, (ops) => ops.listAccounts()), o.json ?? false, ACCOUNT_COLUMNS));
  limitOptions(common(accounts.command('update <id>').description('change status, verification, plan, cap or limits')), true)
    .option('--status <status>', 'active or suspended')
    .option('--verified <bool>', 'verified account', bool)
    .option('--plan <name>', 'plan name')
    .option('--monthly-spend-cap <usd>', 'spend cap per calendar month', num)
    .action(async (id: string, o: Common & LimitFlags & { status?: string; verified?: boolean; plan?: string; monthlySpendCap?: number }) =>
      print(await withOps(o, async (ops) => {
        const limits = mergeLimits((await ops.getAccount(id)).limits, o);
        return ops.updateAccount(id, input(patchAccountInput, { status: o.status, verified: o.verified, plan: o.plan, monthlySpendCap: o.monthlySpendCap, limits }));
      }), o.json ?? false, ACCOUNT_COLUMNS));
  common(accounts.command('add-credits <id> <usd>').description('add prepaid credits'))
    .action(async (id: string, usd: string, o: Common) =>
      print(await withOps(o, (ops) => ops.addCredits(id, input(addCreditsInput, { amount: num(usd) }).amount)), o.json ?? false, ACCOUNT_COLUMNS));
  common(accounts.command('delete-responses <id>').description("delete every stored response of the account (Responses API)"))
    .action(async (id: string, o: Common) => print(await withOps(o, (ops) => ops.deleteResponses(id)), o.json ?? false, ['account', 'deleted']));

  const keys = program.commands.find((c) => c.name() === 'keys') ?? program.command('keys').description('manage API keys');
  limitOptions(keys.command('create'), false)
    .description('create an API key and print it (only the key on stdout; --json for details)')
    .option('-c, --config <file>', 'config file (YAML); its store is used')
    .option('-a, --account <id>', 'account that owns the key', LOCAL_ACCOUNT)
    .option('-n, --name <name>', 'a name for the key')
    .option('--models <patterns>', 'comma-separated model patterns, e.g. "llama-*"')
    .option('--priority <class>', 'critical, standard or batch')
    .option('--expires-at <iso>', 'expiry time (ISO 8601)')
    .option('--spend-cap <usd>', 'spend cap per calendar month', num)
    .option('--json', 'JSON output', false)
    .action(async (o: Common & LimitFlags & { account: string; name?: string; models?: string; priority?: string; expiresAt?: string; spendCap?: number }) => {
      const k = input(createKeyInput, { name: o.name, models: patterns(o.models), priority: o.priority, expiresAt: o.expiresAt, spendCap: o.spendCap, limits: mergeLimits(null, o) });
      const store = await openStore(loadConfig(o.config).store);
      try {
        // The CLI creates a missing account (postpaid) so the first key is one command away.
        const created = await createKeyFor(store, o.account, {
          name: k.name ?? null,
          models: k.models ?? null,
          priority: k.priority,
          expiresAt: k.expiresAt ? new Date(k.expiresAt).toISOString() : null,
          spendCapNanos: k.spendCap === undefined || k.spendCap === null ? null : usdToNanos(k.spendCap),
          limits: k.limits ?? null,
        });
        const view = (await createAdminOperations(store).listKeys(o.account)).find((x) => x.id === created.id);
        process.stdout.write(o.json ? `${JSON.stringify({ ...view, key: created.key }, null, 2)}\n` : `${created.key}\n`);
      } finally {
        await store.close();
      }
    });
  common(keys.command('list').description("list an account's keys (never their secrets)"))
    .option('-a, --account <id>', 'account', LOCAL_ACCOUNT)
    .action(async (o: Common & { account: string }) => print(await withOps(o, (ops) => ops.listKeys(o.account)), o.json ?? false, KEY_COLUMNS));
  limitOptions(common(keys.command('update <keyId>').description('change a key (by its visible id); other settings are kept')), true)
    .option('-n, --name <name>', 'a name for the key')
    .option('--models <patterns>', 'comma-separated model patterns (replace the current ones)')
    .option('--priority <class>', 'critical, standard or batch')
    .option('--expires-at <iso>', 'expiry time (ISO 8601), or `none`')
    .option('--spend-cap <usd>', 'spend cap per calendar month, or `none`', orNone)
    .action(async (id: string, o: Common & LimitFlags & { name?: string; models?: string; priority?: string; expiresAt?: string; spendCap?: number | 'none' }) =>
      print(await withOps(o, async (ops) => {
        const limits = mergeLimits((await ops.getKey(id)).limits, o);
        const expiresAt = o.expiresAt === undefined ? undefined : noneToNull(o.expiresAt);
        return ops.updateKey(id, input(patchKeyInput, { name: o.name, models: patterns(o.models), priority: o.priority, expiresAt, spendCap: o.spendCap === undefined ? undefined : noneToNull(o.spendCap), limits }));
      }), o.json ?? false, KEY_COLUMNS));
  common(keys.command('revoke <keyId>').description('revoke a key (by its visible id)'))
    .action(async (id: string, o: Common) => print(await withOps(o, (ops) => ops.revokeKey(id)), o.json ?? false, KEY_COLUMNS));

  common(program.command('usage').description('usage totals and per-day rows from the ledger'))
    .option('--account <id>', 'account')
    .option('--key <id>', 'key id')
    .option('--model <id>', 'model')
    .option('--from <iso>', 'from (inclusive), date or time')
    .option('--to <iso>', 'to (exclusive), date or time')
    .action(async (o: Common & { account?: string; key?: string; model?: string; from?: string; to?: string }) => {
      const report = await withOps(o, (ops) => ops.usage(input(usageQuery, { account: o.account, key: o.key, model: o.model, from: o.from, to: o.to })));
      if (o.json) return print(report, true);
      print(report.days, false, ['day', 'requests', 'inputTokens', 'outputTokens', 'cost']);
      print({ day: 'total', ...report.totals }, false, ['day', 'requests', 'inputTokens', 'outputTokens', 'cost']);
    });

  registerModelsCommands(program);
  registerRequestsCommands(program);
}
