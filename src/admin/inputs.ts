// Admin input schemas: the admin API's JSON bodies and the CLI's flags are checked by these.
import { z } from 'zod';
import { idPattern, prioritySchema, rateLimitsSchema } from '../config/schema.js';

const MAX_USD = 1_000_000_000;
const id = z.string().regex(idPattern, 'expected 1-64 characters: letters, digits, ".", "_", "-"');
const usd = z.number().finite().min(0).max(MAX_USD);
const isoDate = z.iso.datetime({ offset: true });
/** An object replaces both limits (a field left out: no limit); null removes them. */
const limits = rateLimitsSchema.nullable().optional();

export const createAccountInput = z.strictObject({
  id,
  status: z.enum(['active', 'suspended']).optional(),
  verified: z.boolean().optional(),
  plan: z.string().min(1).max(64).optional(),
  credits: usd.nullish(),
  monthlySpendCap: usd.nullish(),
  limits,
});

export const patchAccountInput = z.strictObject({
  status: z.enum(['active', 'suspended']).optional(),
  verified: z.boolean().optional(),
  plan: z.string().min(1).max(64).optional(),
  monthlySpendCap: usd.nullable().optional(),
  limits,
});

export const addCreditsInput = z.strictObject({
  amount: z.number().finite().positive().max(MAX_USD),
});

export const createKeyInput = z.strictObject({
  name: z.string().max(128).optional(),
  models: z.array(z.string().min(1).max(256)).max(100).optional(),
  priority: prioritySchema.optional(),
  expiresAt: isoDate.optional(),
  spendCap: usd.nullish(),
  limits,
});

/** Absent: unchanged; null removes the name, model restriction, expiry, cap or limits. */
export const patchKeyInput = z.strictObject({
  name: z.string().max(128).nullable().optional(),
  models: z.array(z.string().min(1).max(256)).max(100).nullable().optional(),
  priority: prioritySchema.optional(),
  expiresAt: isoDate.nullable().optional(),
  spendCap: usd.nullable().optional(),
  limits,
});

const dateOrDateTime = z.union([z.iso.date(), isoDate]);
export const usageQuery = z.strictObject({
  account: id.optional(),
  key: z.string().max(64).optional(),
  model: z.string().max(256).optional(),
  from: dateOrDateTime.optional(),
  to: dateOrDateTime.optional(),
});

/** GET /admin/requests/{id}: `account` scopes the answer to one account (another's request is not found). */
export const requestQuery = z.strictObject({
  account: id.optional(),
});

export type CreateAccountInput = z.infer<typeof createAccountInput>;
export type PatchAccountInput = z.infer<typeof patchAccountInput>;
export type CreateKeyInput = z.infer<typeof createKeyInput>;
export type PatchKeyInput = z.infer<typeof patchKeyInput>;
export type UsageQuery = z.infer<typeof usageQuery>;
export type RequestQuery = z.infer<typeof requestQuery>;

/** Run-time model settings (admin/model-operations.ts): held in memory, back to the config at restart. */
export const patchModelInput = z.strictObject({
  maintenance: z.boolean(),
});

/** The same bounds as a deployment's `weight` in the config (config/schema.ts). */
const MAX_WEIGHT = 1_000;
export const patchDeploymentInput = z
  .strictObject({
    maintenance: z.boolean().optional(),
    weight: z.number().finite().gt(0).max(MAX_WEIGHT).optional(),
  })
  // An empty patch is a mistake (a misspelt flag, a lost body), not a no-op to answer 200 to.
  .refine((p) => p.maintenance !== undefined || p.weight !== undefined, { message: 'expected at least one of maintenance, weight' });

export type PatchModelInput = z.infer<typeof patchModelInput>;
export type PatchDeploymentInput = z.infer<typeof patchDeploymentInput>;
