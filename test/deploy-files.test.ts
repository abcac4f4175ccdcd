// The container files, checked without a container runtime (none is assumed on a test machine):
// the Dockerfile's shape, the compose file's services and mounts, the compose config of the gateway
// through the gateway's own config loader, and Prometheus's compose config. `docker compose config`
// runs too where the compose plugin is installed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parse } from 'yaml';
import { Ajv } from 'ajv';
import { parseConfigDocument } from '../src/config/load.js';
import { REPO_ROOT, prometheusSkipReason, which } from './helpers/prometheus.js';

const read = (path: string) => readFileSync(join(REPO_ROOT, path), 'utf8');
const DEPLOY = join(REPO_ROOT, 'deploy');
interface Service { image?: string; build?: { context: string; dockerfile: string }; command?: string[]; volumes?: string[]; depends_on?: Record<string, unknown>; healthcheck?: unknown; environment?: Record<string, string> }
const compose = parse(read('deploy/compose.yaml')) as { services: Record<string, Service>; volumes: Record<string, unknown> };

test('Dockerfile: multi-stage, non-root, serves dist/src/cli/main.js, health-checked on /ready', () => {
  const lines = read('Dockerfile').split('\n').filter((l) => !l.startsWith('#'));
  const from = lines.filter((l) => /^FROM /.test(l));
  assert.ok(from.length >= 2, 'at least a build and a runtime stage');
  assert.match(from[0]!, / AS build$/);
  const runtime = lines.slice(lines.indexOf(from.at(-1)!)).join('\n');
  const user = /^USER (\S+)$/m.exec(runtime)?.[1];
  assert.ok(user && user !== 'root' && user !== '0', `runtime user ${user}`);
  assert.match(runtime, /^HEALTHCHECK .*(\n.*)*\/ready/m);
  assert.match(runtime, /^CMD \["node", "\/app\/dist\/src\/cli\/main\.js", "serve"/m);
  // The dev dependencies stay in the build stage.
  assert.match(runtime, /npm ci --omit=dev/);
  // Everything the Dockerfile copies from the context exists and is not excluded by .dockerignore.
  const ignored = read('.dockerignore').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  for (const m of read('Dockerfile').matchAll(/^COPY (?!--from)(.+) \S+$/gm)) {
    for (const src of m[1]!.split(/\s+/)) {
      assert.ok(existsSync(join(REPO_ROOT, src)), `COPY ${src}: missing`);
      assert.ok(!ignored.includes(src), `COPY ${src}: excluded by .dockerignore`);
    }
  }
  for (const heavy of ['node_modules', 'dist', '.git', '*.db']) assert.ok(ignored.includes(heavy), `.dockerignore should exclude ${heavy}`);
});

test('compose: the gateway with PostgreSQL, Redis, Prometheus and Alertmanager, files that exist', () => {
  const s = compose.services;
  assert.deepEqual(Object.keys(s).sort(), ['alertmanager', 'gateway', 'postgres', 'prometheus', 'redis']);
  assert.equal(s.gateway!.build!.dockerfile, 'Dockerfile');
  assert.ok(existsSync(join(resolve(DEPLOY, s.gateway!.build!.context), s.gateway!.build!.dockerfile)));
  assert.deepEqual(Object.keys(s.gateway!.depends_on!).sort(), ['postgres', 'redis']);
  for (const name of ['postgres', 'redis', 'prometheus', 'alertmanager']) assert.match(s[name]!.image ?? '', /:[\w.-]+$/, `${name}: a pinned image tag`);
  for (const name of ['postgres', 'redis']) assert.ok(s[name]!.healthcheck, `${name}: a health check (the gateway waits for it)`);
  // Every bind mount's source exists; every named volume is declared.
  for (const [name, svc] of Object.entries(s)) {
    for (const v of svc.volumes ?? []) {
      const src = v.split(':')[0]!;
      if (src.startsWith('.')) assert.ok(existsSync(resolve(DEPLOY, src)), `${name}: ${src} missing`);
      else assert.ok(src in compose.volumes, `${name}: volume ${src} undeclared`);
    }
  }
  const mountOf = (svc: string, target: string) => s[svc]!.volumes!.find((v) => v.split(':')[1] === target)?.split(':')[0];
  assert.equal(mountOf('prometheus', '/etc/prometheus/alerts.yml'), './prometheus/alerts.yml');
  assert.equal(mountOf('alertmanager', '/etc/alertmanager/alertmanager.yml'), './alertmanager/alertmanager.yml');
  assert.equal(mountOf('gateway', '/etc/sluice/sluice.yaml'), './sluice.compose.yaml');
  assert.deepEqual(s.gateway!.command!.slice(-2), ['--config', '/etc/sluice/sluice.yaml']);
});

test('compose: the gateway config is valid for the gateway and names the compose services', () => {
  const env = { SLUICE_ADMIN_TOKEN: 'a'.repeat(32), SLUICE_DEMO_KEY: 'sk-demo-'.padEnd(40, 'x'), POSTGRES_PASSWORD: 'pw' };
  // The variables the config reads are the ones compose passes to the gateway.
  for (const name of Object.keys(env)) assert.ok(name in compose.services.gateway!.environment!, `${name} not passed by compose`);
  const config = parseConfigDocument(parse(read('deploy/sluice.compose.yaml')), 'deploy/sluice.compose.yaml', env);
  assert.equal(new URL(config.store).host, 'postgres:5432');
  assert.equal(config.limits.store, 'redis://redis:6379/0');
  assert.equal(config.server.host, '0.0.0.0');
  assert.equal(config.adminToken, env.SLUICE_ADMIN_TOKEN);
  // The journal is on the gateway's volume.
  assert.ok(config.ledger.journalDir?.startsWith('/data/'));
  assert.ok(compose.services.gateway!.volumes!.some((v) => v.endsWith(':/data')));
  // Prometheus scrapes the gateway's service and port, and alerts the Alertmanager service.
  const prom = parse(read('deploy/prometheus/prometheus.yml')) as { rule_files: string[]; scrape_configs: Array<{ static_configs: Array<{ targets: string[] }> }>; alerting: { alertmanagers: Array<{ static_configs: Array<{ targets: string[] }> }> } };
  assert.deepEqual(prom.scrape_configs[0]!.static_configs[0]!.targets, [`gateway:${config.server.port}`]);
  assert.deepEqual(prom.alerting.alertmanagers[0]!.static_configs[0]!.targets, ['alertmanager:9093']);
  assert.deepEqual(prom.rule_files, ['alerts.yml']);
});

test('promtool: the compose Prometheus config is valid', (t) => {
  const skip = prometheusSkipReason(['promtool']);
  if (skip) return t.skip(skip);
  execFileSync('promtool', ['check', 'config', join(DEPLOY, 'prometheus/prometheus.yml')], { stdio: 'pipe' });
});

test('deploy/compose.yaml is valid against the Compose Specification\'s JSON schema (what docker compose checks)', () => {
  const schema = JSON.parse(read('test/compose-spec/compose-spec.json')) as Record<string, unknown>;
  delete schema.$schema; // draft-07, which Ajv speaks; its $schema URL is not one Ajv knows by that spelling
  // `format`s such as "duration" are Compose's own; their values here are checked by the tests above.
  const validate = new Ajv({ strict: false, allErrors: true, validateFormats: false }).compile(schema);
  const doc = parse(read('deploy/compose.yaml')) as { services: Record<string, Record<string, unknown>> };
  assert.ok(validate(doc), JSON.stringify(validate.errors));
  // The schema is strict enough to catch a misspelt key.
  doc.services.gateway!.helthcheck = doc.services.gateway!.healthcheck;
  assert.equal(validate(doc), false, 'a misspelt service key is refused');
});

test('docker compose config accepts the compose file', (t) => {
  const docker = which('docker');
  const hasCompose = docker !== undefined && (() => {
    try {
      execFileSync('docker', ['compose', 'version'], { stdio: 'pipe' });
      return true;
    } catch {
      return false;
    }
  })();
  if (!hasCompose) return t.skip('docker compose is not installed: the files were checked by the tests above only');
  execFileSync('docker', ['compose', '-f', join(DEPLOY, 'compose.yaml'), 'config', '--quiet'], {
    cwd: dirname(DEPLOY),
    stdio: 'pipe',
    env: { ...process.env, SLUICE_ADMIN_TOKEN: 'a'.repeat(32), SLUICE_DEMO_KEY: 'x'.repeat(40), POSTGRES_PASSWORD: 'pw' },
  });
});
