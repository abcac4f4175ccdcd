// A fuzz test: a few hundred generated malformed requests across endpoints, fields, raw bodies and
// headers, each of which must get a 4xx in the contract's shape (never a 5xx, never a success),
// while a concurrent request is never held up, and none of which may leave a ledger row, hold
// credit or spend, or go uncounted in the metrics. Seeded: a failure names a reproducible case.
// In test/serial: it measures how long /health waits, so it runs alone.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { catalog, type ErrorCode } from '../../src/errors/catalog.js';
import { mulberry32 } from '../../src/sim/rng.js';
import { http } from '../helpers/gateway.js';
import { probeHealth } from '../helpers/health-probe.js';
import { spawnGateway, stopGateway, writeConfig, type ProcessGateway } from '../helpers/process-gateway.js';

const KEY = 'fuzz-key-0123456789abcdefgh';
const ADMIN = 'fuzz-admin-token-0123456789';
const CASES = 400;
let gw: ProcessGateway;

// Its own process: the probe then measures the gateway's event loop, not this test's.
before(async () => {
  const { dir, file } = writeConfig({
    adminToken: ADMIN,
    server: { maxBodyBytes: 256 * 1024, bodyTimeoutMs: 2_000 },
    models: [
      { id: 'chat', contextLength: 4096, pricing: { inputPerMTok: 0.5, outputPerMTok: 1 }, deployments: [{ id: 'c', engine: 'sim', sim: { ttftMs: 1, itlMs: 1 } }] },
      { id: 'embed', kind: 'embedding', contextLength: 512, pricing: { inputPerMTok: 0.1, outputPerMTok: 0 }, deployments: [{ id: 'e', engine: 'sim', sim: { ttftMs: 1 } }] },
    ],
    accounts: [{ id: 'fuzz', credits: 100, monthlySpendCap: 50, keys: [{ key: KEY, spendCap: 40 }] }],
  });
  gw = await spawnGateway(file, dir);
});
after(() => stopGateway(gw));


type Body = Record<string, unknown>;
const VALID: Record<string, () => Body> = {
  '/v1/chat/completions': () => ({ model: 'chat', messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'hello' }], max_tokens: 8 }),
  '/v1/completions': () => ({ model: 'chat', prompt: 'Once upon a time', max_tokens: 8 }),
  '/v1/embeddings': () => ({ model: 'embed', input: ['one', 'two'] }),
};

/** Values that each field must refuse (every one of them is invalid on its own). */
const INVALID: Record<string, Record<string, unknown[]>> = {
  '/v1/chat/completions': {
    model: [123, null, '', ['chat'], {}, 'no-such-model', 'm'.repeat(300)],
    messages: [[], 'hello', null, [{}], [{ role: 'wizard', content: 'x' }], [{ role: 'user' }], [{ role: 'user', content: 5 }], [{ role: 'user', content: [{ type: 'video', video: 'x' }] }], [{ role: 'tool', content: 'x' }], [{ role: 'user', content: [{ type: 'text' }] }], [{ role: 'assistant', tool_calls: [{ id: 1 }] }]],
    max_tokens: [0, -1, 1.5, 'ten', 2 ** 32, true, 10_000_000],
    max_completion_tokens: [0, 'x', 5000],
    temperature: [-0.1, 2.5, 'hot', []],
    top_p: [1.5, -1, '1'],
    n: [0, 129, 1.5],
    stop: [[1], ['a', 'b', 'c', 'd', 'e'], 5, {}],
    stream: ['yes', 1],
    stream_options: [{ include_usage: true }, { include_usage: 'yes' }],
    logit_bias: [{ 1: 500 }, 'x', { 1: 'high' }],
    tools: ['x', [{}], [{ type: 5 }], Array.from({ length: 129 }, () => ({ type: 'function', function: { name: 'f' } }))],
    tool_choice: ['sometimes', 5],
    response_format: [{ type: 'yaml' }, 'json'],
    seed: [1.5, 'x'],
    user: ['u'.repeat(600), 5],
    logprobs: ['x', 5],
    top_logprobs: [21, -1],
    presence_penalty: [3, 'x'],
    frequency_penalty: [-3],
  },
  '/v1/completions': {
    model: [7, '', 'no-such-model'],
    prompt: [null, [], [[]], [1, -1], [1.5], {}, true, 'x'.repeat(20_000)],
    echo: ['x'],
    best_of: [0, 21],
    logprobs: [6, -1, 'x'],
    suffix: [5],
    max_tokens: [0, 'x', 4096],
  },
  '/v1/embeddings': {
    model: [null, 'no-such-model'],
    input: [null, [], 5, [1, 'a'], Array.from({ length: 2049 }, () => 'x'), [[1, -2]], 'y '.repeat(600)],
    encoding_format: ['hex', 5],
    dimensions: [0, 9000, 'x'],
    user: [[]],
  },
};

interface Fuzzed { name: string; method: string; path: string; headers: Record<string, string>; body?: string | Uint8Array }

/** Ways to spoil a request below the schema: its bytes, its headers, its method or path. */
const RAW_SPOILERS: Array<[string, (r: Fuzzed, next: () => number) => void]> = [
  ['truncated JSON', (r, next) => { r.body = String(r.body).slice(0, Math.floor(next() * (String(r.body).length - 1))); }],
  ['a JSON array', (r) => { r.body = `[${r.body}]`; }],
  ['a JSON string', (r) => { r.body = JSON.stringify(r.body); }],
  ['empty body', (r) => { r.body = ''; }],
  ['invalid UTF-8', (r) => { r.body = Buffer.concat([Buffer.from(String(r.body).slice(0, -1)), Buffer.from([0xff, 0xfe]), Buffer.from('}')]); }],
  ['__proto__ key', (r) => { r.body = String(r.body).replace('{', '{"__proto__":{"admin":true},'); }],
  ['deep nesting', (r) => { r.body = String(r.body).replace('{', `{"x":${'['.repeat(200)}${']'.repeat(200)},`); }],
  ['no key', (r) => { delete r.headers.authorization; }],
  ['a wrong key', (r) => { r.headers.authorization = 'Bearer sk-sluice-nope_0000000000000000'; }],
  ['a bare Bearer', (r) => { r.headers.authorization = 'Bearer'; }],
  ['a Basic credential', (r) => { r.headers.authorization = `Basic ${Buffer.from(`x:${KEY}`).toString('base64')}`; }],
  ['content-type text/html', (r) => { r.headers['content-type'] = 'text/html'; }],
  ['GET on a POST route', (r) => { r.method = 'GET'; delete r.body; }],
  ['DELETE on a POST route', (r) => { r.method = 'DELETE'; }],
  ['an unknown path', (r) => { r.path = `${r.path}/extra`; }],
  ['a body over the limit', (r) => { r.body = String(r.body).replace('{', `{"pad":"${'p'.repeat(300 * 1024)}",`); }],
];

function generate(seed: number): Fuzzed[] {
  const next = mulberry32(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!;
  const out: Fuzzed[] = [];
  for (let i = 0; i < CASES; i++) {
    const path = pick(Object.keys(VALID));
    const body = VALID[path]!();
    const r: Fuzzed = { name: '', method: 'POST', path, headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' } };
    if (next() < 0.6) {
      // One invalid field, sometimes alongside a second (the answer is the first by precedence).
      const fields = INVALID[path]!;
      const names: string[] = [];
      for (let k = next() < 0.3 ? 2 : 1; k > 0; k--) {
        const field = pick(Object.keys(fields));
        body[field] = pick(fields[field]!);
        names.push(field);
      }
      r.body = JSON.stringify(body);
      r.name = `${path} with invalid ${names.join(' and ')}: ${r.body.slice(0, 160)}`;
    } else {
      r.body = JSON.stringify(body);
      const [name, spoil] = pick(RAW_SPOILERS);
      spoil(r, next);
      r.name = `${path} with ${name}`;
    }
    out.push(r);
  }
  return out;
}

function assertContractShape(name: string, res: { status: number; headers: Headers; body: any }): ErrorCode {
  assert.ok(res.status >= 400 && res.status < 500, `${name}: status ${res.status} ${JSON.stringify(res.body)?.slice(0, 300)}`);
  const e = res.body?.error;
  assert.ok(e && typeof e === 'object', `${name}: a JSON error body`);
  const entry = catalog[e.code as ErrorCode];
  assert.ok(entry, `${name}: code ${e.code} is in the catalog`);
  assert.equal(res.status, entry.status, `${name}: status matches the catalog`);
  assert.equal(e.type, entry.type);
  assert.equal(typeof e.message, 'string');
  assert.ok('param' in e, `${name}: param present`);
  assert.equal(e.request_id, res.headers.get('x-request-id'), `${name}: request id in body and header`);
  assert.equal(res.headers.get('x-should-retry'), String(e.retryable), `${name}: x-should-retry`);
  return e.code as ErrorCode;
}

test(`${CASES} malformed requests: each a contract 4xx, no stall, no ledger row, no credit held`, { timeout: 120_000 }, async (t) => {
  const cases = generate(Number(process.env.SLUICE_TEST_SEED ?? 20261202));
  const account = async () => (await http(`${gw.url}/admin/accounts/fuzz`, { key: ADMIN })).body as { credits: number; spentThisMonth: number };
  // The admin API flushes the ledger before it reads, so these are exact.
  const ledgerRows = async () => (await http(`${gw.url}/admin/usage?account=fuzz`, { key: ADMIN })).body.totals.requests as number;
  const requestsCounted = async () => {
    const text = await (await fetch(`${gw.url}/metrics`)).text();
    // Series with an error code: the refused requests (not the /health probes).
    return [...text.matchAll(/^sluice_requests_total\{[^}]*code="[^"]+"[^}]*\} (\d+)/gm)].reduce((a, m) => a + Number(m[1]), 0);
  };
  // Warm-up: the offload worker starts (and loads the tokenizer) before anything is measured.
  await http(`${gw.url}/v1/completions`, { method: 'POST', key: KEY, body: JSON.stringify({ model: 'chat', prompt: 'w'.repeat(5000), max_tokens: 1 }) });
  const before = { account: await account(), rows: await ledgerRows(), counted: await requestsCounted() };
  const codes = new Map<string, number>();
  const run = async () => {
    const probe = await probeHealth(gw.url);
    for (const c of cases) {
      const res = await http(gw.url + c.path, { method: c.method, headers: c.headers, body: c.body as BodyInit | undefined });
      const code = assertContractShape(c.name, res);
      codes.set(code, (codes.get(code) ?? 0) + 1);
    }
    return probe.stop();
  };
  // A stall is what happens again: one slow probe while the machine is busy elsewhere is
  // measured a second time before it counts.
  let slowest = await run();
  if (slowest[0]! >= 50) slowest = await run();
  t.diagnostic(`slowest /health: ${slowest.map((x) => x.toFixed(1)).join(', ')} ms; codes: ${JSON.stringify(Object.fromEntries(codes))}`);
  assert.ok(slowest[0]! < 50, `/health waited ${slowest[0]!.toFixed(1)} ms during the fuzz, twice`);
  assert.equal(await ledgerRows(), before.rows, 'no ledger row for a refused request');
  assert.deepEqual(await account(), before.account, 'no credit taken and no spend');
  // Every fuzzed request is in the metrics (405s and 404s included), and so are the probes.
  assert.ok((await requestsCounted()) - before.counted >= CASES, 'every refused request is counted, with its code');
  // The generator reaches deep into the precedence list, not only the first checks. (The simulator
  // refuses nothing valid as unsupported_parameter; an engine's own refusal is in schema-answers.)
  for (const code of ['invalid_json', 'invalid_parameter', 'missing_api_key', 'invalid_api_key', 'method_not_allowed', 'route_not_found', 'payload_too_large', 'model_not_found', 'context_length_exceeded']) {
    assert.ok(codes.has(code), `the fuzz produced ${code} (got ${[...codes.keys()].join(', ')})`);
  }
});
