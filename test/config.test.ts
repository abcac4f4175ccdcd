// The config file: validation with paths, ${ENV} interpolation, and a gateway that refuses to start.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { ConfigError, loadConfig, parseConfigDocument } from '../src/config/load.js';

const cli = new URL('../src/cli/main.js', import.meta.url).pathname;

function problems(doc: unknown, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    parseConfigDocument(doc, 'test.yaml', env);
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.problems;
  }
  return [];
}

test('the embedded default has two chat models and one embedding model on the simulator', () => {
  const cfg = loadConfig(undefined, {});
  assert.equal(cfg.server.port, 8080);
  assert.equal(cfg.server.host, '127.0.0.1');
  assert.equal(cfg.store, 'sqlite://./sluice.db');
  assert.equal(cfg.models.filter((m) => m.kind === 'chat').length, 2);
  assert.equal(cfg.models.filter((m) => m.kind === 'embedding').length, 1);
  assert.ok(cfg.models.every((m) => m.deployments.every((d) => d.engine === 'sim')));
});

test('the documented example parses, with defaults filled in', () => {
  const cfg = parseConfigDocument({
    server: { host: '127.0.0.1', port: 8080, maxBodyBytes: 4194304, bodyTimeoutMs: 30000 },
    store: 'sqlite://./sluice.db',
    models: [{
      id: 'llama-3.1-8b-instruct', contextLength: 8192, maintenance: false,
      timeouts: { firstTokenMs: 30000, totalMs: 120000, idleMs: 30000 },
      deployments: [
        { id: 'sim-a', engine: 'sim', sim: { ttftMs: 20, itlMs: 5, maxNumSeqs: 16, seed: 1 }, faultHeader: false },
        { id: 'vllm-a', engine: 'openai', baseUrl: 'http://127.0.0.1:8000/v1', upstreamModel: 'meta-llama/Llama-3.1-8B-Instruct', apiKeyEnv: 'VLLM_API_KEY' },
      ],
    }],
  }, 'x');
  const d = cfg.models[0]!.deployments[0]!;
  assert.equal(d.engine, 'sim');
  if (d.engine === 'sim') assert.equal(d.sim.maxQueue, 256);
});

test('errors name the path of the bad field', () => {
  assert.deepEqual(problems({ models: [{ id: 'a', timeouts: { firstTokenMs: 'soon' } }] }).map((p) => p.split(':')[0]), ['models[0].timeouts.firstTokenMs']);
  assert.match(problems({ models: [{ id: 'a', deployments: [{ id: 'd', engine: 'openai', baseUrl: 'not a url' }] }] })[0]!, /^models\[0\]\.deployments\[0\]\.baseUrl:/);
  assert.match(problems({ models: [{ id: 'a', deployments: [{ id: 'd', engine: 'gpu' }] }] })[0]!, /^models\[0\]\.deployments\[0\]\.engine:/);
  assert.match(problems({ server: { port: 70000 } })[0]!, /^server\.port:/);
  assert.match(problems({ serverz: {} })[0]!, /serverz/);
  assert.match(problems({ models: [{ id: 'a' }, { id: 'a' }] })[0]!, /^models\[1\]\.id: duplicate/);
  assert.match(problems({ store: 'mysql://x' })[0]!, /^store:/);
});

test('engine: llama: the README example parses with small-machine defaults; bad settings are refused by field', () => {
  const cfg = parseConfigDocument({ models: [{ id: 'q', deployments: [{ id: 'cpu', engine: 'llama', llama: { modelPath: './models/q.gguf' } }] }] }, 'x');
  const d = cfg.models[0]!.deployments[0]!;
  assert.equal(d.engine, 'llama');
  if (d.engine === 'llama') assert.deepEqual(d.llama, { modelPath: './models/q.gguf', threads: 2, parallel: 1 });
  const llama = (settings: unknown) => problems({ models: [{ id: 'q', deployments: [{ id: 'cpu', engine: 'llama', llama: settings }] }] }).map((p) => p.split(':')[0]);
  assert.deepEqual(llama({}), ['models[0].deployments[0].llama.modelPath']);
  assert.deepEqual(llama({ modelPath: 'm.gguf', threads: 0 }), ['models[0].deployments[0].llama.threads']);
  assert.deepEqual(llama({ modelPath: 'm.gguf', contextSize: 1.5 }), ['models[0].deployments[0].llama.contextSize']);
  assert.deepEqual(llama({ modelPath: 'm.gguf', gpu: true }), ['models[0].deployments[0].llama']);
});

test('rate limits: the documented shape parses; 0, negative, fractional, non-numeric and absurd values are refused by field', () => {
  const cfg = parseConfigDocument({
    limits: { store: 'redis://127.0.0.1:6379/0', onStoreDown: 'failOpen' },
    accounts: [{ id: 'acme', limits: { rpm: 600, tpm: 200000 }, keys: [{ key: 'sk-acme-0123456789abcdef', limits: { rpm: 60, tpm: 20000 } }] }],
    models: [{ id: 'llama-3.1-8b-instruct', limits: { rpm: 120, tpm: 60000 } }],
  }, 'x');
  assert.equal(cfg.limits.store, 'redis://127.0.0.1:6379/0');
  assert.equal(cfg.limits.onStoreDown, 'failOpen');
  assert.deepEqual(cfg.accounts[0]!.keys[0]!.limits, { rpm: 60, tpm: 20000 });
  assert.deepEqual(cfg.models[0]!.limits, { rpm: 120, tpm: 60000 });
  assert.equal(parseConfigDocument({}, 'x').limits.store, 'memory', 'in memory by default');
  for (const [bad, why] of [[0, /at least 1/], [-5, /at least 1/], [1.5, /whole number/], ['many', /whole number of requests/], [2e9, /at most 1000000000/]] as const) {
    const found = problems({ accounts: [{ id: 'a', limits: { rpm: bad } }] });
    assert.equal(found.length, 1, String(bad));
    assert.match(found[0]!, /^accounts\[0\]\.limits\.rpm: /, String(bad));
    assert.match(found[0]!, why, String(bad));
  }
  assert.match(problems({ models: [{ id: 'm', limits: { tpm: 0 } }] })[0]!, /^models\[0\]\.limits\.tpm: tpm must be at least 1/);
  assert.match(problems({ accounts: [{ id: 'a', keys: [{ key: 'sk-acme-0123456789abcdef', limits: { rps: 1 } }] }] })[0]!, /^accounts\[0\]\.keys\[0\]\.limits: .*rps/);
  assert.match(problems({ limits: { store: 'memcached://x' } })[0]!, /^limits\.store: /);
  assert.match(problems({ limits: { onStoreDown: 'shrug' } })[0]!, /^limits\.onStoreDown: /);
});

test('${ENV} and ${ENV:-default} are interpolated in values, and a missing variable is an error', () => {
  const cfg = parseConfigDocument({ server: { port: '${PORT}', host: '${HOST:-0.0.0.0}' } }, 'x', { PORT: '9999' });
  assert.equal(cfg.server.port, 9999);
  assert.equal(cfg.server.host, '0.0.0.0');
  assert.deepEqual(problems({ server: { host: '${NOPE_NOT_SET}' } }), ['server.host: environment variable NOPE_NOT_SET is not set']);
  // A variable's content cannot inject structure: it stays a string value.
  const injected = parseConfigDocument({ models: [{ id: '${ID}' }] }, 'x', { ID: 'a\nserver: {port: 1}' });
  assert.equal(injected.models[0]!.id, 'a\nserver: {port: 1}');
  assert.equal(injected.server.port, 8080);
});

test('sluice serve refuses to start on a bad config and names the path', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-cfg-'));
  const file = join(dir, 'bad.yaml');
  writeFileSync(file, 'server:\n  port: 0\nmodels:\n  - id: m\n    contextLength: -5\n');
  const r = spawnSync(process.execPath, [cli, 'serve', '--config', file], { cwd: dir, encoding: 'utf8', timeout: 10_000 });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /models\[0\]\.contextLength/);
  writeFileSync(file, 'server: [unclosed\n');
  const y = spawnSync(process.execPath, [cli, 'serve', '--config', file], { cwd: dir, encoding: 'utf8', timeout: 10_000 });
  assert.equal(y.status, 2);
  assert.match(y.stderr, /invalid config/);
});

test('responses.retentionDays: 30 by default, whole days from 1 to 3650, refused by field otherwise', () => {
  assert.equal(parseConfigDocument({}, 'x').responses.retentionDays, 30);
  assert.equal(parseConfigDocument({ responses: {} }, 'x').responses.retentionDays, 30);
  assert.equal(parseConfigDocument({ responses: { retentionDays: 3650 } }, 'x').responses.retentionDays, 3650);
  for (const bad of [0, -1, 1.5, 3651, '30']) assert.match(problems({ responses: { retentionDays: bad } })[0]!, /^responses\.retentionDays: /, String(bad));
  assert.match(problems({ responses: { retentionDayz: 3 } })[0]!, /^responses: .*retentionDayz/);
});

test('requestLog: 7 days, 10000 queued rows and 20 unauthenticated rows a second by default, bounded, refused by field otherwise', () => {
  assert.deepEqual(parseConfigDocument({}, 'x').requestLog, { retentionDays: 7, queueLimit: 10_000, unauthenticatedPerSecond: 20 });
  assert.deepEqual(parseConfigDocument({ requestLog: { retentionDays: 90, unauthenticatedPerSecond: 1 } }, 'x').requestLog, { retentionDays: 90, queueLimit: 10_000, unauthenticatedPerSecond: 1 });
  for (const bad of [0, 0.5, 100_001, '20']) assert.match(problems({ requestLog: { unauthenticatedPerSecond: bad } })[0]!, /^requestLog\.unauthenticatedPerSecond: /, String(bad));
  for (const bad of [0, 1.5, 3651, '7']) assert.match(problems({ requestLog: { retentionDays: bad } })[0]!, /^requestLog\.retentionDays: /, String(bad));
  for (const bad of [99, 1_000_001, 2.5]) assert.match(problems({ requestLog: { queueLimit: bad } })[0]!, /^requestLog\.queueLimit: /, String(bad));
  assert.match(problems({ requestLog: { retention: 3 } })[0]!, /^requestLog: .*retention/);
});
