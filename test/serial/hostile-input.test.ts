// No request may stall the gateway: the worst prompts we know (one long word, long runs of digits,
// punctuation, spaces, emoji, CJK, mixed scripts, huge names, tools, token arrays, many messages)
// sent to every endpoint and field, one after another, while /health is probed. The gateway runs
// in its own process so that building and sending these bodies does not slow the probe itself.
// In test/serial: it measures how long /health waits, so it runs alone, after the parallel suites
// (two test files at once on two cores would measure the scheduler, not the gateway).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { probeHealth } from '../helpers/health-probe.js';
import { spawnGateway, stopGateway, writeConfig, type ProcessGateway } from '../helpers/process-gateway.js';

const KEY = 'hostile-input-key-0123456789abcdef';
const ADMIN = 'hostile-input-admin-token-0123456789';
const STALL_MS = 50;
let gw: ProcessGateway;

before(async () => {
  const { dir, file } = writeConfig({
    adminToken: ADMIN,
    accounts: [{ id: 'acme', credits: 1000, keys: [{ key: KEY }] }],
    models: [
      { id: 'small', contextLength: 8192, pricing: { inputPerMTok: 1, outputPerMTok: 1 }, deployments: [{ id: 's', engine: 'sim', sim: { ttftMs: 1, itlMs: 0, prefillMsPerToken: 0 } }] },
      { id: 'large', contextLength: 131072, pricing: { inputPerMTok: 1, outputPerMTok: 1 }, deployments: [{ id: 'l', engine: 'sim', sim: { ttftMs: 1, itlMs: 0, prefillMsPerToken: 0 } }] },
      { id: 'embed', kind: 'embedding', contextLength: 8192, pricing: { inputPerMTok: 1, outputPerMTok: 0 }, deployments: [{ id: 'e', engine: 'sim', sim: { ttftMs: 1, prefillMsPerToken: 0, embeddingDimensions: 8 } }] },
    ],
  });
  gw = await spawnGateway(file, dir);
});
after(() => stopGateway(gw));

function post(path: string, body: Buffer): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = request(`${gw.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json', 'content-length': body.length } }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(Buffer.concat(parts).toString('utf8')) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const MB = 1 << 20;
/** Strings of about `n` characters in the shapes that cost a tokenizer most. */
const SHAPES: Record<string, (n: number) => string> = {
  'one long word': (n) => 'a'.repeat(n),
  'digits': (n) => '9'.repeat(n),
  'punctuation': (n) => '!?.,;:'.repeat(n / 6),
  'spaces': (n) => `x${' '.repeat(n)}x`,
  'emoji': (n) => '😀🎉🚀'.repeat(n / 6),
  'CJK without punctuation': (n) => '中文字符测试'.repeat(n / 6),
  'mixed scripts': (n) => 'aé中1!Я😀'.repeat(n / 8),
};

/** `expect`: the error code the case must get, or 'served'; without it any contract 4xx will do. */
interface Case { name: string; path: string; body: () => unknown; expect?: string }
const cases: Case[] = [];
for (const [shape, make] of Object.entries(SHAPES)) {
  cases.push({ name: `chat content, ${shape}`, path: '/v1/chat/completions', body: () => ({ model: 'small', max_tokens: 4, messages: [{ role: 'user', content: make(MB) }] }) });
  cases.push({ name: `completions prompt, ${shape}`, path: '/v1/completions', body: () => ({ model: 'small', max_tokens: 4, prompt: make(MB) }) });
  cases.push({ name: `embeddings input, ${shape}`, path: '/v1/embeddings', body: () => ({ model: 'embed', input: make(MB) }) });
  cases.push({ name: `large context, fits: ${shape}`, path: '/v1/chat/completions', body: () => ({ model: 'large', max_tokens: 4, messages: [{ role: 'user', content: make(100_000) }] }) });
}
cases.push(
  { name: 'chat message name, one long word', path: '/v1/chat/completions', body: () => ({ model: 'small', max_tokens: 4, messages: [{ role: 'user', content: 'hi', name: 'n'.repeat(MB) }] }) },
  { name: 'chat content parts, CJK', path: '/v1/chat/completions', body: () => ({ model: 'small', max_tokens: 4, messages: [{ role: 'user', content: Array.from({ length: 64 }, () => ({ type: 'text', text: SHAPES['CJK without punctuation']!(16_000) })) }] }) },
  { name: 'tool definitions', path: '/v1/chat/completions', body: () => ({ model: 'small', max_tokens: 4, messages: [{ role: 'user', content: 'hi' }], tools: [{ type: 'function', function: { name: 'f', description: 'z'.repeat(MB) } }] }) },
  { name: 'tool call arguments', path: '/v1/chat/completions', body: () => ({ model: 'small', max_tokens: 4, messages: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: null, tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: 'q'.repeat(MB) } }] }] }) },
  { name: 'many small messages', path: '/v1/chat/completions', body: () => ({ model: 'small', max_tokens: 4, messages: Array.from({ length: 30_000 }, () => ({ role: 'user', content: 'hi there' })) }) },
  { name: 'many strings to embed', path: '/v1/embeddings', body: () => ({ model: 'embed', input: Array.from({ length: 2048 }, () => 'b'.repeat(1000)) }) },
  { name: 'a long token-id prompt', path: '/v1/completions', body: () => ({ model: 'small', max_tokens: 4, prompt: Array.from({ length: 200_000 }, (_, i) => i % 50_000) }) },
  // Shapes that cost JSON.parse most per byte: near the 4 MB default body limit.
  { name: '4 MB of empty objects', path: '/v1/chat/completions', body: () => ({ model: 'small', max_tokens: 4, messages: [{ role: 'user', content: 'hi' }], extra: Array.from({ length: 1_300_000 }, () => ({})) }), expect: 'payload_too_large' },
  { name: '4 MB of zeros', path: '/v1/completions', body: () => ({ model: 'large', max_tokens: 4, prompt: Array.from({ length: 2_000_000 }, () => 0) }), expect: 'payload_too_large' },
  { name: '4 MB of tiny messages', path: '/v1/chat/completions', body: () => ({ model: 'small', max_tokens: 4, messages: Array.from({ length: 130_000 }, () => ({ role: 'user', content: 'hi' })) }), expect: 'payload_too_large' },
  { name: 'as many values as may be parsed', path: '/v1/completions', body: () => ({ model: 'large', max_tokens: 4, prompt: Array.from({ length: 120_000 }, (_, i) => i % 1000) }), expect: 'served' },
  { name: 'completions suffix, one long word', path: '/v1/completions', body: () => ({ model: 'small', max_tokens: 4, prompt: 'hi', suffix: 's'.repeat(MB) }) },
);

/** Far more than any of these takes with linear counting; quadratic counting takes minutes. */
const HANG_MS = 5_000;

test('hostile prompts get a 4xx or an answer, never a 5xx, and /health never waits behind them', { timeout: 180_000 }, async (t) => {
  const bodies = cases.map((c) => Buffer.from(JSON.stringify(c.body())));
  // Warm-up: the counting worker loads its tables once, off the event loop, before measuring.
  await post('/v1/chat/completions', Buffer.from(JSON.stringify({ model: 'small', max_tokens: 4, messages: [{ role: 'user', content: 'warm up' }] })));
  let served = 0;
  const stalls: string[] = [];
  for (const [i, c] of cases.entries()) {
    // A stall is what happens again: a case slow once (the other test files share the two cores)
    // is tried a second time, and only a second slow answer counts.
    for (let attempt = 1; attempt <= 2; attempt++) {
      const probe = await probeHealth(gw.url);
      const t0 = performance.now();
      const res = await post(c.path, bodies[i]!);
      const ms = performance.now() - t0;
      const slowest = await probe.stop();
      t.diagnostic(`${c.name}: ${res.status} in ${ms.toFixed(0)} ms, slowest /health ${slowest[0]!.toFixed(1)} ms`);
      assert.ok(res.status < 500, `${c.name}: ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
      assert.ok(ms < HANG_MS, `${c.name}: answered after ${ms.toFixed(0)} ms`);
      if (res.status === 200) served++;
      else assert.equal(typeof res.body.error.code, 'string', `${c.name}: a contract error`);
      if (c.expect === 'served') assert.equal(res.status, 200, `${c.name}: served`);
      else if (c.expect) assert.equal(res.body.error?.code, c.expect, `${c.name}: refused as too costly to parse`);
      if (slowest[0]! < STALL_MS) break;
      if (attempt === 2) stalls.push(`${c.name}: /health waited ${slowest[0]!.toFixed(1)} ms (slowest: ${slowest.map((x) => x.toFixed(1)).join(', ')}); the request took ${ms.toFixed(0)} ms and got ${res.status} ${res.body.error?.code ?? ''}`);
    }
  }
  assert.deepEqual(stalls, [], 'no request stalls the gateway');
  // The ledger holds what was served, and only that (the warm-up request included).
  const usage = await fetch(`${gw.url}/admin/usage?account=acme`, { headers: { authorization: `Bearer ${ADMIN}` } }).then((r) => r.json()) as { totals: { requests: number } };
  assert.equal(usage.totals.requests, served + 1, 'refused requests leave no ledger row');
});
