// Table shapes as Kysely sees them. Timestamps are ISO-8601 UTC strings in both backends (they
// sort as text); money is integer nano-USD (1e-9 $), so sums never drift the way floats do.

export interface AccountsTable {
  id: string;
  status: string;
  verified: number;
  plan: string;
  /** Prepaid balance still available (reservations already taken out); null: postpaid. */
  credits_nanos: number | string | null;
  monthly_cap_nanos: number | string | null;
  created_at: string;
  /** Requests / tokens per minute; null: no limit (migration 0003). */
  rpm_limit: number | null;
  tpm_limit: number | null;
}

export interface ApiKeysTable {
  id: string;
  account_id: string;
  key_hash: string;
  name: string | null;
  /** JSON array of model patterns; null: all models. */
  models: string | null;
  priority: string;
  spend_cap_nanos: number | string | null;
  expires_at: string | null;
  revoked_at: string | null;
  created_at: string;
  last_used_at: string | null;
  /** Requests / tokens per minute; null: no limit (migration 0003). */
  rpm_limit: number | null;
  tpm_limit: number | null;
}

/** Spend per scope (`account:ID` or `key:ID`) and calendar month (`YYYY-MM`), for spend caps. */
export interface SpendTable {
  scope: string;
  period: string;
  spent_nanos: number | string;
  reserved_nanos: number | string;
}

/** One row per request that was admitted: what it used and what it cost. */
export interface LedgerTable {
  request_id: string;
  account_id: string;
  key_id: string;
  model: string;
  deployment: string | null;
  endpoint: string;
  status: number;
  error_code: string | null;
  input_tokens: number;
  output_tokens: number;
  cost_nanos: number | string;
  started_at: string;
  duration_ms: number;
  first_byte_ms: number | null;
  created_at: string;
}

/** Credit and cap room a gateway process took in advance and has not yet used or given back. */
export interface CreditLeasesTable {
  /** `<instance>:<pid>:<boot>`: which process holds it (billing/lease-holder.ts). */
  holder: string;
  account_id: string;
  key_id: string;
  period: string;
  prepaid: number;
  account_capped: number;
  key_capped: number;
  outstanding_nanos: number | string;
}

/** A stored Response (the Responses API's `store: true`), owned by an account, until it expires (migration 0004). */
export interface ResponsesTable {
  /** `resp_…` */
  id: string;
  account_id: string;
  model: string;
  previous_response_id: string | null;
  created_at: string;
  /** Invisible from this instant on; the retention sweeper deletes it later. */
  expires_at: string;
  /** JSON of the Response object as answered. */
  body: string;
}

/** A stored response's input and output items, in order, findable by item id (`item_reference`). */
export interface ResponseItemsTable {
  response_id: string;
  /** The response's account, repeated so items are found by (account, item id) through one index. */
  account_id: string;
  item_id: string;
  kind: 'input' | 'output';
  position: number;
  /** JSON of the item. */
  item: string;
}

/**
 * A request that was answered with an error, refused, or retried (migration 0005): what the
 * request inspector shows beside (or instead of) its ledger row. Written best-effort in batches.
 */
export interface RequestLogTable {
  request_id: string;
  /** When the row was recorded (the retention sweep goes by it). */
  created_at: string;
  /** Null when the request was refused before its key was known. */
  account_id: string | null;
  key_id: string | null;
  /** A registered model id, or null. */
  model: string | null;
  /** What the client sent as `model`, cut to 128 characters (it may name no model at all). */
  requested_model: string | null;
  deployment: string | null;
  /** chat, completions, embeddings, responses; null for other routes. */
  endpoint: string | null;
  method: string;
  /** The request's path without its query, cut to 200 characters. */
  path: string;
  status: number;
  error_code: string | null;
  /** The error message the client was given, cut to 1000 characters. */
  message: string | null;
  attempts: number;
  started_at: string;
  duration_ms: number;
  first_byte_ms: number | null;
}

export interface Database {
  accounts: AccountsTable;
  api_keys: ApiKeysTable;
  spend: SpendTable;
  ledger: LedgerTable;
  credit_leases: CreditLeasesTable;
  responses: ResponsesTable;
  response_items: ResponseItemsTable;
  request_log: RequestLogTable;
}
