// Keeps the code's catalog, docs/errors.md and the normative contract in step.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { catalog, errorCodes, type ErrorCode } from '../src/errors/catalog.js';
import { renderErrorsDoc } from '../src/errors/docs.js';
import { GatewayError } from '../src/errors/gateway-error.js';
import { renderError, sseErrorEvent } from '../src/errors/render.js';

const contractPath = new URL('../../../shared/ERROR-CONTRACT.md', import.meta.url);
const docsPath = new URL('../../docs/errors.md', import.meta.url);

/** Codes Sluice adds beyond the contract ("codes may be added; none may change meaning"). */
const ADDED: ErrorCode[] = ['unsupported_content_type', 'malformed_request', 'headers_too_large', 'stream_timeout', 'account_not_found', 'key_not_found', 'already_exists', 'deployment_not_found', 'response_not_found', 'request_not_found'];

interface ContractRow { status: number; type: string; code: string; retryable: boolean; withWait: boolean }

function contractRows(): ContractRow[] {
  const text = readFileSync(contractPath, 'utf8');
  const table = text.slice(text.indexOf('## The catalog'));
  const rows: ContractRow[] = [];
  for (const line of table.split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    if (cells.length < 7 || !/^\d{3}$/.test(cells[1]!)) continue;
    const codes = [...cells[3]!.matchAll(/`([a-z_]+)`/g)].map((m) => m[1]!);
    const retry = cells[5]!;
    for (const code of codes) rows.push({ status: Number(cells[1]), type: cells[2]!, code, retryable: retry.startsWith('yes'), withWait: retry.includes('wait') });
  }
  return rows;
}

test('every contract code is in the catalog with the same status, type and retry advice', { skip: !existsSync(contractPath) && 'shared/ERROR-CONTRACT.md is not beside this checkout' }, () => {
  const rows = contractRows();
  assert.ok(rows.length >= 36, `parsed ${rows.length} contract rows`);
  for (const r of rows) {
    const e = catalog[r.code as ErrorCode];
    assert.ok(e, `contract code ${r.code} missing from the catalog`);
    assert.deepEqual({ status: e.status, type: e.type, retryable: e.retryable, withWait: Boolean(e.withWait) }, { status: r.status, type: r.type, retryable: r.retryable, withWait: r.withWait }, r.code);
  }
  const contractCodes = new Set(rows.map((r) => r.code));
  const extra = errorCodes.filter((c) => !contractCodes.has(c));
  assert.deepEqual(extra.sort(), [...ADDED].sort(), 'codes beyond the contract must be listed as deliberate additions');
});

test('docs/errors.md is generated from the catalog (run `npm run docs:errors`)', () => {
  assert.equal(readFileSync(docsPath, 'utf8'), renderErrorsDoc());
  for (const code of errorCodes) assert.ok(readFileSync(docsPath, 'utf8').includes(`\`${code}\``), code);
});

test('every entry renders the contract body and headers', () => {
  for (const code of errorCodes) {
    const entry = catalog[code];
    const r = renderError(new GatewayError(code, { retryAfterMs: 120_000 }), 'req_x');
    const body = JSON.parse(r.body);
    assert.deepEqual(Object.keys(body.error).sort(), ['code', 'hint', 'message', 'param', 'request_id', 'retryable', 'type']);
    assert.equal(r.status, entry.status);
    assert.equal(r.headers['x-should-retry'], String(entry.retryable));
    assert.equal(r.headers['x-request-id'], 'req_x');
    if (entry.withWait) {
      assert.equal(r.headers['retry-after'], '60', `${code}: waits are capped at 60 s`);
      assert.equal(r.headers['retry-after-ms'], '60000');
    } else {
      assert.equal(r.headers['retry-after'], undefined, `${code}: no wait advertised`);
    }
  }
});

test('retry-after is whole seconds, at least one, rounded up; a rate limit sends its real wait in retry-after-ms', () => {
  const r = renderError(new GatewayError('engine_overloaded', { retryAfterMs: 1 }), 'req_y');
  assert.equal(r.headers['retry-after'], '1');
  assert.equal(r.headers['retry-after-ms'], '1000', 'an engine that says 0 or 1 ms still gets clients to wait a second');
  const limited = renderError(new GatewayError('rate_limit_requests', { retryAfterMs: 99.2 }), 'r');
  assert.equal(limited.headers['retry-after-ms'], '100');
  assert.equal(limited.headers['retry-after'], '1');
  assert.equal(renderError(new GatewayError('queue_timeout', { retryAfterMs: 2500 }), 'r').headers['retry-after'], '3');
});

test('the SSE error event is the same object followed by [DONE]', () => {
  const ev = sseErrorEvent(new GatewayError('upstream_invalid_response'), 'req_z');
  const [first, second] = ev.trim().split('\n\n');
  assert.equal(JSON.parse(first!.replace(/^data: /, '')).error.code, 'upstream_invalid_response');
  assert.equal(second, 'data: [DONE]');
});

test('internal errors never leak the cause into the body', () => {
  const r = renderError(new GatewayError('internal_error', { cause: new Error('secret /etc/passwd sk-live-123') }), 'req_q');
  assert.ok(!r.body.includes('passwd') && !r.body.includes('sk-live'));
});

test('exactly one module writes error bodies', async () => {
  // Any other file that builds an `{ error: {...} }` body or a hand-made error response would
  // bypass the contract. The simulator imitates vLLM's own error format and is exempt.
  const { readdirSync, statSync } = await import('node:fs');
  const { join } = await import('node:path');
  const root = new URL('../../src/', import.meta.url).pathname;
  const offenders: string[] = [];
  const walk = (dir: string) => {
    for (const f of readdirSync(dir)) {
      const p = join(dir, f);
      if (statSync(p).isDirectory()) walk(p);
      else if (p.endsWith('.ts') && !p.endsWith('errors/render.ts') && !p.includes('/sim/')) {
        const src = readFileSync(p, 'utf8');
        if (/\{\s*error:\s*\{/.test(src) || /writeHead\(\s*(4|5)\d\d/.test(src)) offenders.push(p);
      }
    }
  };
  walk(root);
  assert.deepEqual(offenders, []);
});
