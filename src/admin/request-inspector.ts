// The request inspector (GET /admin/requests/{id}, `sluice requests show`): what the gateway knows
// of one request, from the ledger (requests that produced output: tokens, cost) and the request
// log (requests answered with an error, refused, or retried: the message, the attempts). A
// malformed id, an unknown one and, with `account`, another account's are the same 404.
import { GatewayError } from '../errors/gateway-error.js';
import { nanosToUsd } from '../store/money.js';
import type { RequestLogRow } from '../store/request-log-repo.js';
import type { Store } from '../store/store.js';
import type { LedgerTable } from '../store/tables.js';

/** As request-id.ts makes them. Anything else cannot be one: answered without a query. */
const REQUEST_ID = /^req_[0-9a-f]{32}$/;

function notFound(id: string): GatewayError {
  // The same text for every reason, so that `?account=` cannot tell "another's" from "missing".
  return new GatewayError('request_not_found', { message: `No request ${JSON.stringify(id.slice(0, 64))} is known to this gateway.` });
}

export function requestView(id: string, ledger: LedgerTable | undefined, log: RequestLogRow | undefined) {
  // The ledger is the record of what was served and billed; the log adds what it does not keep.
  const first = <T>(a: T | null | undefined, b: T | null | undefined): T | null => a ?? b ?? null;
  const code = first(ledger?.error_code, log?.error_code);
  return {
    object: 'request' as const,
    id,
    recordedIn: [...(ledger ? ['ledger'] : []), ...(log ? ['request_log'] : [])],
    accountId: first(ledger?.account_id, log?.account_id),
    keyId: first(ledger?.key_id, log?.key_id),
    model: first(ledger?.model, log?.model),
    requestedModel: log?.requested_model ?? null,
    deployment: first(ledger?.deployment, log?.deployment),
    endpoint: first(ledger?.endpoint, log?.endpoint),
    method: log?.method ?? null,
    path: log?.path ?? null,
    status: ledger?.status ?? log!.status,
    code,
    inputTokens: ledger?.input_tokens ?? null,
    outputTokens: ledger?.output_tokens ?? null,
    /** USD; a request not on the ledger was not billed. */
    cost: ledger ? nanosToUsd(Number(ledger.cost_nanos)) : 0,
    startedAt: first(ledger?.started_at, log?.started_at),
    durationMs: first(ledger?.duration_ms, log?.duration_ms),
    firstByteMs: first(ledger?.first_byte_ms, log?.first_byte_ms),
    // The log keeps every retried request: a served one it does not hold made one attempt.
    attempts: log ? log.attempts : 1,
    error: log && (log.error_code !== null || log.message !== null)
      ? { status: log.status, code: log.error_code, message: log.message }
      : code !== null ? { status: ledger!.status, code, message: null } : null,
  };
}

export type RequestView = ReturnType<typeof requestView>;

/** `beforeRead`: writes what this replica holds back (journaled ledger rows, queued log rows). */
export function createRequestInspector(store: Store, beforeRead: () => Promise<void>) {
  return {
    async inspect(id: string, account?: string): Promise<RequestView> {
      if (!REQUEST_ID.test(id)) throw notFound(id);
      await beforeRead();
      const [ledger, log] = await Promise.all([store.usage.find(id), store.requestLog.find(id)]);
      if (!ledger && !log) throw notFound(id);
      const owner = ledger?.account_id ?? log?.account_id ?? null;
      if (account !== undefined && owner !== account) throw notFound(id);
      return requestView(id, ledger, log);
    },
  };
}

export type RequestInspector = ReturnType<typeof createRequestInspector>;
