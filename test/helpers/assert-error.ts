// Checks one error response against the contract: status, type, code, param, request id in header
// and body, x-should-retry equal to retryable, and the catalog's extra headers.
import assert from 'node:assert/strict';
import { catalog, type ErrorCode } from '../../src/errors/catalog.js';

export interface ErrorResponse {
  status: number;
  headers: Headers;
  body: any;
}

export function assertContractError(res: ErrorResponse, code: ErrorCode, param: string | null = null): void {
  const entry = catalog[code];
  assert.equal(res.status, entry.status, `status for ${code}: body ${JSON.stringify(res.body)}`);
  assert.ok(res.body && typeof res.body.error === 'object', `JSON error body for ${code}`);
  const e = res.body.error;
  assert.equal(e.code, code);
  assert.equal(e.type, entry.type);
  assert.equal(e.param, param);
  assert.equal(typeof e.message, 'string');
  assert.ok(e.message.length > 0);
  assert.equal(e.retryable, entry.retryable);
  assert.equal(typeof e.hint, 'string');
  const rid = res.headers.get('x-request-id');
  assert.match(rid ?? '', /^req_[0-9a-f]{32}$/);
  assert.equal(e.request_id, rid);
  assert.equal(res.headers.get('x-should-retry'), String(entry.retryable));
  if (entry.withWait) {
    const ra = Number(res.headers.get('retry-after'));
    assert.ok(ra >= 1 && ra <= 60, `retry-after in 1..60, got ${ra}`);
    assert.ok(Number(res.headers.get('retry-after-ms')) >= 1000);
  }
  if (entry.status === 401) assert.equal(res.headers.get('www-authenticate'), 'Bearer');
}
