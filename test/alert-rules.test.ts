// The shipped alert rules: promtool's own checks and unit tests (deploy/prometheus/alerts.test.yml),
// every alert carrying what an on-call person needs (severity, summary, description, a runbook
// section that exists), and the example Alertmanager configuration routing by that severity.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { ALERTS_FILE, REPO_ROOT, prometheusSkipReason } from './helpers/prometheus.js';

interface Rule { alert?: string; record?: string; expr: string; labels?: Record<string, string>; annotations?: Record<string, string> }
const groups = (parse(readFileSync(ALERTS_FILE, 'utf8')) as { groups: Array<{ name: string; rules: Rule[] }> }).groups;
const alerts = groups.flatMap((g) => g.rules).filter((r) => r.alert !== undefined);
const AM_FILE = join(REPO_ROOT, 'deploy/alertmanager/alertmanager.yml');

/** Runs a tool; its output becomes the assertion message when it fails. */
function run(bin: string, args: string[], cwd = REPO_ROOT): string {
  try {
    return execFileSync(bin, args, { cwd, encoding: 'utf8', stdio: 'pipe' });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    assert.fail(`${bin} ${args.join(' ')} failed:\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  }
}

test('promtool: the rules parse and pass their unit tests', (t) => {
  const skip = prometheusSkipReason(['promtool']);
  if (skip) return t.skip(skip);
  run('promtool', ['check', 'rules', ALERTS_FILE]);
  const out = run('promtool', ['test', 'rules', 'alerts.test.yml'], join(REPO_ROOT, 'deploy/prometheus'));
  assert.match(out, /SUCCESS/);
});

test('every issue-16 alert is there, with severity, summary, description and a runbook section', () => {
  const names = alerts.map((a) => a.alert);
  for (const name of ['SluiceHigh5xxRatio', 'SluiceServiceUnavailableSpike', 'SluiceGatewayTimeoutSpike', 'SluiceFirstTokenBudgetBurnFast', 'SluiceAdmissionQueueSaturated', 'SluiceCircuitOpen', 'SluiceStoreDown', 'SluiceLedgerBacklog']) {
    assert.ok(names.includes(name), `${name} missing`);
  }
  const runbook = readFileSync(join(REPO_ROOT, 'docs/runbook.md'), 'utf8');
  // GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens.
  const anchors = new Set([...runbook.matchAll(/^#{2,3} (.+)$/gm)].map((m) => m[1]!.trim().toLowerCase().replace(/[^\w\- ]/g, '').replace(/ /g, '-')));
  for (const a of alerts) {
    assert.ok(['page', 'ticket'].includes(a.labels?.severity ?? ''), `${a.alert}: severity`);
    assert.ok((a.annotations?.summary ?? '').length > 10, `${a.alert}: summary`);
    assert.ok((a.annotations?.description ?? '').length > 30, `${a.alert}: description`);
    const url = a.annotations?.runbook_url ?? '';
    const m = /^docs\/runbook\.md#([\w-]+)$/.exec(url);
    assert.ok(m, `${a.alert}: runbook_url ${url}`);
    assert.ok(anchors.has(m[1]!), `${a.alert}: docs/runbook.md has no section #${m[1]}`);
  }
});

test('alertmanager.yml routes pages and tickets to their receivers', (t) => {
  const config = parse(readFileSync(AM_FILE, 'utf8')) as { route: { receiver: string; routes: Array<{ matchers: string[]; receiver: string }> }; receivers: Array<{ name: string }> };
  const receivers = new Set(config.receivers.map((r) => r.name));
  assert.ok(receivers.has(config.route.receiver));
  for (const r of config.route.routes) assert.ok(receivers.has(r.receiver), `route to unknown receiver ${r.receiver}`);
  // Every severity the rules use has a route of its own.
  for (const severity of new Set(alerts.map((a) => a.labels!.severity!))) {
    assert.ok(config.route.routes.some((r) => r.matchers.includes(`severity="${severity}"`)), `no route for severity ${severity}`);
  }
  const skip = prometheusSkipReason(['amtool'], false);
  if (skip) return t.skip(`amtool checks: ${skip} (the YAML checks above ran)`);
  run('amtool', ['check-config', AM_FILE]);
  const route = (severity: string) => run('amtool', ['config', 'routes', 'test', `--config.file=${AM_FILE}`, `severity=${severity}`, 'alertname=Test']).trim();
  assert.equal(route('page'), 'pager');
  assert.equal(route('ticket'), 'tickets');
});
