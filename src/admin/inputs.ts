// Admin input schemas: the admin API's JSON bodies and the CLI's flags are checked by these.
import { z } from 'zod';
import { idPattern, prioritySchema } from '../config/schema.js';

const MAX_USD = 1_000_000_000;
const id = z.string().regex(idPattern, 'expected 1-64 characters: letters, digits, ".", "_", "-"');
const usd = z.number().finite().min(0).max(MAX_USD);
const isoDate = z.iso.datetime({ offset: true });

export const createAccountInput = z.strictObject({
  id,
  status: z.enum(['active', 'suspended']).optional(),
  verified: z.boolean().optional(),
  plan: z.string().min(1).max(64).optional(),
  credits: usd.nullish(),
  monthlySpendCap: usd.nullish(),
});

export const patchAccountInput = z.strictObject({
  status: z.enum(['active', 'suspended']).optional(),
  verified: z.boolean().optional(),
  plan: z.string().min(1).max(64).optional(),
  monthlySpendCap: usd.nullable().optional(),
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
});

const dateOrDateTime = z.union([z.iso.date(), isoDate]);
export const usageQuery = z.strictObject({
  account: id.optional(),
  key: z.string().max(64).optional(),
  model: z.string().max(256).optional(),
  from: dateOrDateTime.optional(),
  to: dateOrDateTime.optional(),
});

export type CreateAccountInput = z.infer<typeof createAccountInput>;
export type PatchAccountInput = z.infer<typeof patchAccountInput>;
export type CreateKeyInput = z.infer<typeof createKeyInput>;
export type UsageQuery = z.infer<typeof usageQuery>;
