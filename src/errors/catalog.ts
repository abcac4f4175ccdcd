// The error contract as data (../shared/ERROR-CONTRACT.md). Every failure a client can see is one
// entry here; docs/errors.md is generated from this table and a test keeps both equal to the
// contract. Codes may be added; none may change meaning.

export type ErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'billing_error'
  | 'permission_error'
  | 'not_found_error'
  | 'timeout_error'
  | 'precondition_failed'
  | 'rate_limit_error'
  | 'server_error'
  | 'upstream_error'
  | 'overloaded_error';

export interface CatalogEntry {
  status: number;
  type: ErrorType;
  /** Retryable by the client. `x-should-retry` always equals this. */
  retryable: boolean;
  /** A wait is known and sent as `retry-after` / `retry-after-ms`. */
  withWait?: boolean;
  /** Default message when the thrower gives none. */
  message: string;
  /** What the user can do about it. */
  hint: string;
  /** When it happens (documentation only). */
  when: string;
}

const entries = {
  invalid_json: {
    status: 400, type: 'invalid_request_error', retryable: false,
    message: 'The request body is not valid JSON.',
    hint: 'Send a JSON object with content-type: application/json.',
    when: 'body is not JSON, or not an object',
  },
  invalid_parameter: {
    status: 400, type: 'invalid_request_error', retryable: false,
    message: 'A request parameter is invalid.',
    hint: 'Fix the parameter named in `param`.',
    when: 'a field is missing, of the wrong type or out of range; `param` is its path, e.g. `messages[2].role`',
  },
  unsupported_parameter: {
    status: 400, type: 'invalid_request_error', retryable: false,
    message: 'This parameter is not supported by this model.',
    hint: 'Remove the parameter named in `param`, or use a model that supports it.',
    when: 'a valid OpenAI field that this model or engine cannot honour',
  },
  unsupported_content_type: {
    status: 400, type: 'invalid_request_error', retryable: false,
    message: 'The request body must be JSON.',
    hint: 'Send the body with content-type: application/json.',
    when: 'the body is declared as something other than JSON (multipart, binary)',
  },
  malformed_request: {
    status: 400, type: 'invalid_request_error', retryable: false,
    message: 'The HTTP request could not be parsed.',
    hint: 'Send a well-formed HTTP/1.1 request.',
    when: 'the request line or headers are not valid HTTP',
  },
  already_exists: {
    status: 400, type: 'invalid_request_error', retryable: false,
    message: 'A resource with this id already exists.',
    hint: 'Choose another id, or update the existing one.',
    when: 'admin API: creating an account whose id is taken',
  },
  context_length_exceeded: {
    status: 400, type: 'invalid_request_error', retryable: false,
    message: "The prompt plus max_tokens exceed the model's context length.",
    hint: 'Shorten the prompt or lower max_tokens.',
    when: 'prompt tokens plus `max_tokens` exceed the model\'s context; `param` is `messages` or `max_tokens`',
  },
  missing_api_key: {
    status: 401, type: 'authentication_error', retryable: false,
    message: 'No API key was provided. Send it as `Authorization: Bearer <key>`.',
    hint: 'Set the Authorization header (the OpenAI SDKs do it from apiKey).',
    when: 'no `Authorization: Bearer …`',
  },
  invalid_api_key: {
    status: 401, type: 'authentication_error', retryable: false,
    message: 'The API key is not valid.',
    hint: 'Check the key; create a new one with `sluice keys create`.',
    when: 'malformed or unknown key',
  },
  expired_api_key: {
    status: 401, type: 'authentication_error', retryable: false,
    message: 'The API key has expired.',
    hint: 'Create a new key.',
    when: 'the key existed but is expired',
  },
  revoked_api_key: {
    status: 401, type: 'authentication_error', retryable: false,
    message: 'The API key has been revoked.',
    hint: 'Create a new key.',
    when: 'the key existed but is revoked',
  },
  insufficient_credits: {
    status: 402, type: 'billing_error', retryable: false,
    message: 'Your credit balance cannot cover this request.',
    hint: 'Add credits to the account, or lower max_tokens.',
    when: 'prepaid balance cannot cover the request',
  },
  spend_limit_reached: {
    status: 402, type: 'billing_error', retryable: false,
    message: 'The spend cap for this period has been reached.',
    hint: 'Wait for the period to reset or raise the cap.',
    when: "the account's or key's spend cap for the period is reached; message says when it resets",
  },
  model_access_denied: {
    status: 403, type: 'permission_error', retryable: false,
    message: 'This API key is not allowed to use this model.',
    hint: 'Use a key whose scope includes the model.',
    when: "the key's scope does not include this model",
  },
  verification_required: {
    status: 403, type: 'permission_error', retryable: false,
    message: 'This model is available to verified accounts only.',
    hint: 'Verify the account, or choose another model.',
    when: 'the model is gated to verified accounts',
  },
  route_not_found: {
    status: 404, type: 'not_found_error', retryable: false,
    message: 'No such route.',
    hint: 'Check the URL against the endpoints the message lists (the OpenAI endpoints live under /v1).',
    when: 'no such path; the message names the endpoints served',
  },
  model_not_found: {
    status: 404, type: 'not_found_error', retryable: false,
    message: 'The model does not exist or you do not have access to it.',
    hint: 'List the models you can use with GET /v1/models.',
    when: 'no such model, or not visible to this account',
  },
  account_not_found: {
    status: 404, type: 'not_found_error', retryable: false,
    message: 'No such account.',
    hint: 'Check the account id (admin API).',
    when: 'admin API: the account does not exist',
  },
  deployment_not_found: {
    status: 404, type: 'not_found_error', retryable: false,
    message: 'No such deployment.',
    hint: "List the model's deployments with GET /admin/models/{id}.",
    when: 'admin API: the model has no deployment with that id',
  },
  key_not_found: {
    status: 404, type: 'not_found_error', retryable: false,
    message: 'No such API key.',
    hint: 'Check the key id (admin API).',
    when: 'admin API: the key id does not exist',
  },
  response_not_found: {
    status: 404, type: 'not_found_error', retryable: false,
    message: 'No response with that id exists for this account.',
    hint: 'Check the response id; stored responses expire after the retention period.',
    when: "no stored response with that id for this account: missing, expired, deleted, or another account's (the same answer for each)",
  },
  request_not_found: {
    status: 404, type: 'not_found_error', retryable: false,
    message: 'No request with that id is known to this gateway.',
    hint: 'Check the id (the x-request-id header, `req_` and 32 hex characters). Failed, refused and retried requests are kept for requestLog.retentionDays; served ones are in the ledger.',
    when: "admin API: no request with that id in the ledger or the request log: unknown, malformed, past retention, or another account's when `?account=` is given (the same answer for each)",
  },
  model_not_deployed: {
    status: 404, type: 'not_found_error', retryable: false,
    message: 'The model exists but is not deployed right now.',
    hint: 'Choose another model from GET /v1/models, or ask the operator to deploy it.',
    when: 'the model exists but has no deployment serving it',
  },
  method_not_allowed: {
    status: 405, type: 'invalid_request_error', retryable: false,
    message: 'This method is not allowed on this route.',
    hint: 'Use one of the methods in the `allow` header.',
    when: 'e.g. GET on a POST route; `allow` header lists the methods',
  },
  request_timeout: {
    status: 408, type: 'timeout_error', retryable: true,
    message: 'The request was not received completely in time.',
    hint: 'Send the body faster or check the network between you and Sluice.',
    when: 'the client did not finish sending the request in time',
  },
  account_suspended: {
    status: 412, type: 'precondition_failed', retryable: false,
    message: 'The account is suspended.',
    hint: 'Contact the operator of this gateway.',
    when: 'the account is suspended',
  },
  adapter_load_failed: {
    status: 412, type: 'precondition_failed', retryable: false,
    message: 'The requested adapter failed to load.',
    hint: 'Check the adapter name, or try the base model.',
    when: 'the requested LoRA adapter failed to load; message names the adapter, not file paths',
  },
  payload_too_large: {
    status: 413, type: 'invalid_request_error', retryable: false,
    message: 'The request body is too large.',
    hint: 'Send a smaller request.',
    when: 'body over the limit; message states the limit',
  },
  headers_too_large: {
    status: 413, type: 'invalid_request_error', retryable: false,
    message: 'The request headers are too large.',
    hint: 'Send fewer or shorter headers.',
    when: 'the request line and headers exceed the server limit',
  },
  rate_limit_requests: {
    status: 429, type: 'rate_limit_error', retryable: true, withWait: true,
    message: 'Rate limit reached for requests per minute.',
    hint: 'Wait for retry-after, or ask for a higher limit.',
    when: 'requests per minute exceeded',
  },
  rate_limit_tokens: {
    status: 429, type: 'rate_limit_error', retryable: true, withWait: true,
    message: 'Rate limit reached for tokens per minute.',
    hint: 'Wait for retry-after, send fewer tokens, or ask for a higher limit.',
    when: 'tokens per minute exceeded',
  },
  request_too_large_for_limit: {
    status: 429, type: 'rate_limit_error', retryable: false,
    message: 'This request needs more tokens than the per-minute limit allows.',
    hint: 'Lower max_tokens or shorten the prompt; it can never pass as it is.',
    when: 'this single request needs more tokens than the per-minute limit allows: it can never pass',
  },
  internal_error: {
    status: 500, type: 'server_error', retryable: true,
    message: 'Internal error. Quote the request id if you report it.',
    hint: 'Retry; if it persists, report the request id.',
    when: 'a bug in Sluice; generic message, details only in the log under the request id',
  },
  engine_error: {
    status: 500, type: 'server_error', retryable: true,
    message: 'The inference engine failed while serving this request.',
    hint: 'Retry the request.',
    when: 'the engine crashed or returned 500 on every attempt',
  },
  upstream_invalid_response: {
    status: 502, type: 'upstream_error', retryable: true,
    message: 'The inference engine sent an invalid response.',
    hint: 'Retry the request.',
    when: "the engine's answer is not valid (bad JSON, cut off, wrong shape)",
  },
  upstream_unreachable: {
    status: 502, type: 'upstream_error', retryable: true,
    message: 'The inference engine could not be reached.',
    hint: 'Retry the request.',
    when: 'connection refused or reset by the engine',
  },
  upstream_auth_failed: {
    status: 502, type: 'upstream_error', retryable: false,
    message: "The inference engine rejected the gateway's credentials.",
    hint: 'This is an operator problem; report the request id.',
    when: "the engine rejected Sluice's own credentials (an operator problem, never shown as 401)",
  },
  server_overloaded: {
    status: 503, type: 'overloaded_error', retryable: true, withWait: true,
    message: 'The server is overloaded.',
    hint: 'Retry after the time in retry-after.',
    when: 'surge protection: queue full or concurrency limit hit for this priority',
  },
  queue_timeout: {
    status: 503, type: 'overloaded_error', retryable: true, withWait: true,
    message: 'The request waited in the queue longer than allowed.',
    hint: 'Retry after the time in retry-after.',
    when: 'waited in the queue longer than allowed',
  },
  engine_overloaded: {
    status: 503, type: 'overloaded_error', retryable: true, withWait: true,
    message: 'The engines serving this model are at capacity.',
    hint: 'Retry after the time in retry-after.',
    when: 'every engine for the model answered 429/503 (capacity)',
  },
  no_healthy_deployment: {
    status: 503, type: 'overloaded_error', retryable: true, withWait: true,
    message: 'No healthy deployment can serve this model right now.',
    hint: 'Retry after the time in retry-after.',
    when: 'every deployment is unhealthy (circuits open)',
  },
  maintenance: {
    status: 503, type: 'overloaded_error', retryable: true, withWait: true,
    message: 'The model is down for maintenance.',
    hint: 'Retry later, or use another model.',
    when: 'model or deployment drained for maintenance',
  },
  dependency_unavailable: {
    status: 503, type: 'overloaded_error', retryable: true, withWait: true,
    message: 'A service the gateway depends on is unavailable.',
    hint: 'Retry after the time in retry-after.',
    when: 'a store Sluice needs (database, Redis) is down',
  },
  first_token_timeout: {
    status: 504, type: 'timeout_error', retryable: true,
    message: 'The engine sent no token within the first-token timeout.',
    hint: 'Retry the request.',
    when: 'the engine sent nothing within the first-token timeout',
  },
  generation_timeout: {
    status: 504, type: 'timeout_error', retryable: false,
    message: 'The generation did not finish within the total timeout.',
    hint: 'Use `stream: true` for long generations, or lower max_tokens.',
    when: 'a non-streaming generation outran the total timeout; hint: use `stream: true`',
  },
  stream_timeout: {
    status: 504, type: 'timeout_error', retryable: true,
    message: 'The engine stopped sending tokens in time.',
    hint: 'Retry the request, or lower max_tokens.',
    when: 'a stream went idle longer than the idle timeout, or outran the total timeout (sent as a stream error event)',
  },
  upstream_unknown_error: {
    status: 520, type: 'upstream_error', retryable: true,
    message: 'The inference engine answered with an unexpected error.',
    hint: 'Retry the request; if it persists, report the request id.',
    when: 'the engine answered with a status or error that fits nowhere above',
  },
} as const satisfies Record<string, CatalogEntry>;

export type ErrorCode = keyof typeof entries;
export const catalog: Readonly<Record<ErrorCode, CatalogEntry>> = entries;
export const errorCodes = Object.keys(entries) as ErrorCode[];
