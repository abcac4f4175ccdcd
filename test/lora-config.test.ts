// Adapter models in the config (issue 17, Bad input): refused at start with the path of the field
// to fix when the base is missing, is itself an adapter, or the adapter has deployments of its own;
// and a gateway given such a file does not start.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { ConfigError, parseConfigDocument } from '../src/config/load.js';
import { parseSimFlags } from '../src/cli/sim-command.js';

const cli = new URL('../src/cli/main.js', import.meta.url).pathname;

const base = { id: 'llama-base', deployments: [{ id: 'b1', engine: 'sim' }] };

function problems(models: unknown[]): string[] {
  try {
    parseConfigDocument({ models }, 'test.yaml', {});
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.problems;
  }
  return [];
}

test('the issue\'s example is accepted, with its defaults', () => {
  const cfg = parseConfigDocument({ models: [base, { id: 'acme-support-v2', base: 'llama-base', adapter: { source: '/srv/loras/acme-support-v2' }, owner: 'acme' }] }, 'test.yaml', {});
  const a = cfg.models[1]!;
  assert.equal(a.base, 'llama-base');
  assert.deepEqual(a.adapter, { source: '/srv/loras/acme-support-v2', failedLoadTtlMs: 10_000, loadTimeoutMs: 60_000 });
  assert.deepEqual(a.deployments, []);
  const d = cfg.models[0]!.deployments[0]!;
  assert.equal(d.maxAdapters, 8);
  assert.ok(d.engine === 'sim' && d.sim.adapterLoadMs >= 0 && d.sim.failAdapters.length === 0);
});

test('a base that does not exist: refused at models[i].base', () => {
  const p = problems([base, { id: 'x', base: 'nope', adapter: { source: '/a' } }]);
  assert.equal(p.length, 1);
  assert.match(p[0]!, /^models\[1\]\.base: .*no model "nope"/);
});

test('a base that is itself an adapter: refused at models[i].base', () => {
  const p = problems([base, { id: 'a1', base: 'llama-base', adapter: { source: '/a' } }, { id: 'a2', base: 'a1', adapter: { source: '/b' } }]);
  assert.equal(p.length, 1);
  assert.match(p[0]!, /^models\[2\]\.base: .*"a1" is itself an adapter/);
});

test('an adapter with deployments of its own: refused at models[i].deployments', () => {
  const p = problems([base, { id: 'a1', base: 'llama-base', adapter: { source: '/a' }, deployments: [{ id: 'own', engine: 'sim' }] }]);
  assert.equal(p.length, 1);
  assert.match(p[0]!, /^models\[1\]\.deployments: .*has none of its own/);
});

test('half an adapter: base without adapter, adapter without base, a bad source, another kind', () => {
  assert.match(problems([base, { id: 'a1', base: 'llama-base' }])[0]!, /^models\[1\]\.adapter: /);
  assert.match(problems([base, { id: 'a1', adapter: { source: '/a' } }])[0]!, /^models\[1\]\.base: /);
  assert.match(problems([base, { id: 'a1', base: 'llama-base', adapter: { source: '' } }])[0]!, /^models\[1\]\.adapter\.source: /);
  assert.match(problems([base, { id: 'a1', base: 'llama-base', adapter: { source: '/a', path: '/b' } }])[0]!, /^models\[1\]\.adapter/);
  assert.match(problems([base, { id: 'a1', kind: 'embedding', base: 'llama-base', adapter: { source: '/a' } }])[0]!, /^models\[1\]\.kind: /);
  assert.match(problems([{ ...base, deployments: [{ id: 'b1', engine: 'sim', maxAdapters: 0 }] }])[0]!, /^models\[0\]\.deployments\[0\]\.maxAdapters: /);
  assert.match(problems([{ ...base, deployments: [{ id: 'b1', engine: 'sim', sim: { failAdapters: 'x' } }] }])[0]!, /^models\[0\]\.deployments\[0\]\.sim\.failAdapters: /);
});

test('a gateway whose config has a bad adapter does not start: exit 2, the field named', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-lora-config-'));
  try {
    const file = join(dir, 'sluice.yaml');
    writeFileSync(file, `store: sqlite://${join(dir, 'db.sqlite')}\nmodels:\n  - id: llama-base\n    deployments: [{ id: b1, engine: sim }]\n  - id: acme\n    base: missing-base\n    adapter: { source: /srv/loras/acme }\n`);
    const r = spawnSync(process.execPath, [cli, 'serve', '--config', file, '--port', '0'], { encoding: 'utf8', timeout: 15_000 });
    assert.equal(r.status, 2, `exit ${r.status}\n${r.stdout}${r.stderr}`);
    assert.match(r.stderr + r.stdout, /models\[1\]\.base/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('sluice sim --fail-adapters and --adapter-load-ms', () => {
  const ok = parseSimFlags({ port: '0', host: '127.0.0.1', faultHeader: false, failAdapters: ['*broken*', '/srv/old-*'], adapterLoadMs: 5 });
  assert.ok('settings' in ok);
  assert.deepEqual(ok.settings.failAdapters, ['*broken*', '/srv/old-*']);
  assert.equal(ok.settings.adapterLoadMs, 5);
  const bad = parseSimFlags({ port: '0', host: '127.0.0.1', faultHeader: false, adapterLoadMs: -1 });
  assert.ok('flag' in bad && bad.flag === '--adapter-load-ms');
  for (const flags of [['--fail-adapters', ' , '], ['--adapter-load-ms', '-5']]) {
    const r = spawnSync(process.execPath, [cli, 'sim', '--port', '0', ...flags], { encoding: 'utf8', timeout: 10_000 });
    assert.equal(r.status, 2, `${flags.join(' ')}: exit ${r.status}\n${r.stdout}${r.stderr}`);
    assert.match(r.stderr, new RegExp(flags[0]!));
  }
});
