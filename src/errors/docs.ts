// Renders docs/errors.md from the catalog, so the documentation cannot drift from the code.
import { catalog, errorCodes } from './catalog.js';

export function renderErrorsDoc(): string {
  const rows = errorCodes.map((code) => {
    const e = catalog[code];
    const retry = e.retryable ? (e.withWait ? 'yes, with wait' : 'yes') : 'no';
    return `| ${e.status} | ${e.type} | \`${code}\` | ${e.when} | ${retry} | ${e.hint} |`;
  });
  return [
    '# Sluice errors',
    '',
    '<!-- Generated from src/errors/catalog.ts by `npm run docs:errors`; a test keeps it equal. Do not edit. -->',
    '',
    'Every error response is JSON: `{"error": {"message", "type", "code", "param", "request_id", "retryable", "hint"}}`,',
    'with `x-request-id` and `x-should-retry` headers (equal to `retryable`); errors with a known wait add',
    '`retry-after` (1-60 s) and `retry-after-ms`. Once a stream has started, an error arrives as one SSE event',
    '`data: {"error": {...}}` followed by `data: [DONE]`. The normative contract is `../shared/ERROR-CONTRACT.md`.',
    '',
    '| status | type | code | when | retryable | what to do |',
    '|---|---|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}
