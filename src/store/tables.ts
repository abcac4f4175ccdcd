// Table shapes as Kysely sees them. Timestamps are ISO-8601 strings in both backends.
import type { Generated } from 'kysely';

export interface AccountsTable {
  id: string;
  status: string;
  verified: number;
  plan: string;
  /** null: postpaid. */
  credits: number | null;
  monthly_spend_cap: number | null;
  created_at: string;
}

export interface ApiKeysTable {
  id: string;
  account_id: string;
  key_hash: string;
  name: string | null;
  /** JSON array of model patterns; null: all models. */
  models: string | null;
  priority: string;
  spend_cap: number | null;
  expires_at: string | null;
  revoked_at: string | null;
  created_at: string;
  last_used_at: string | null;
}

export interface Database {
  accounts: AccountsTable;
  api_keys: ApiKeysTable;
  _placeholder?: Generated<number>;
}
