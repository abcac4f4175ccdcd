// Every metric the alert rules and the Grafana dashboard use is one the gateway exports, every
// metric it exports is documented in docs/metrics.md, and every dashboard query parses in a real
// Prometheus: renaming a metric cannot silently blank a panel or an alert.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { ALERTS_FILE, REPO_ROOT, prometheusSkipReason } from './helpers/prometheus.js';
import { startPrometheus } from './helpers/prometheus-server.js';
import { simModel, startTestGateway, type TestGateway } from './helpers/gateway.js';

interface Panel { title: string; type: string; targets?: Array<{ expr: string }> }
const dashboard = JSON.parse(readFileSync(join(REPO_ROOT, 'deploy/grafana/sluice.json'), 'utf8')) as { uid: string; panels: Panel[]; templating: { list: Array<{ name: string; query: unknown }> } };
const dashboardExprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ where: `panel "${p.title}"`, expr: t.expr })));
const ruleExprs = (parse(readFileSync(ALERTS_FILE, 'utf8')) as { groups: Array<{ rules: Array<{ alert?: string; record?: string; expr: string }> }> })
  .groups.flatMap((g) => g.rules).map((r) => ({ where: `rule ${r.alert ?? r.record}`, expr: r.expr }));
/** Recording rules' outputs (level:metric:operations) may be used by name like metrics. */
const recorded = new Set(ruleExprs.flatMap((r) => (r.where.startsWith('rule model:') ? [r.where.slice(5)] : [])));

let gw: TestGateway;
/** Metric families the gateway exports (# TYPE lines) and their types; label names seen. */
const families = new Map<string, string>();
const labels = new Set<string>();

before(async () => {
  gw = await startTestGateway({ models: [{ ...simModel('m'), deployments: [{ id: 'm-sim', engine: 'sim', sim: { ttftMs: 1, itlMs: 1 }, admission: { maxConcurrency: 2 } }] }] });
  // One stream, so the labelled histograms have series and their label names show.
  const s = await gw.client().chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }], max_tokens: 3, stream: true, stream_options: { include_usage: true } });
  for await (const _ of s);
  const text = await (await fetch(`${gw.url}/metrics`)).text();
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) families.set(m[1]!, m[2]!);
  for (const m of text.matchAll(/^[^#\s][^{\s]*\{([^}]*)\}/gm)) for (const l of m[1]!.matchAll(/(\w+)="/g)) labels.add(l[1]!);
});
after(() => gw.close());

/** The metric family a sample name belongs to: a histogram's _bucket, _sum and _count are its own. */
function family(name: string): string | undefined {
  if (families.has(name)) return name;
  const base = name.replace(/_(bucket|sum|count)$/, '');
  return families.get(base) === 'histogram' ? base : undefined;
}

test('every metric in the alert rules and the dashboard is exported by the gateway', () => {
  let checked = 0;
  for (const { where, expr } of [...ruleExprs, ...dashboardExprs]) {
    // Identifiers that look like ours, not inside a recording rule's name (model:sluice_…:…).
    for (const m of expr.matchAll(/(?<![:\w])((?:sluice|gen_ai)_\w+)(?![:\w])/g)) {
      const name = m[1]!;
      if (labels.has(name) && family(name) === undefined) continue; // a label, e.g. gen_ai_request_model
      assert.ok(family(name), `${where}: ${name} is not a metric the gateway exports`);
      checked++;
    }
    for (const m of expr.matchAll(/\b(\w+:\w+:\w+)\b/g)) assert.ok(recorded.has(m[1]!), `${where}: no recording rule makes ${m[1]}`);
  }
  assert.ok(checked > 40, `only ${checked} metric uses found: is the pattern still right?`);
});

test('every exported metric is documented in docs/metrics.md', () => {
  const doc = readFileSync(join(REPO_ROOT, 'docs/metrics.md'), 'utf8');
  const ours = [...families.keys()].filter((n) => /^(sluice|gen_ai)_/.test(n) && !/^sluice_(process|nodejs)_/.test(n));
  assert.ok(ours.length > 25);
  for (const name of ours) assert.ok(doc.includes(`\`${name}\``), `${name} is not in docs/metrics.md`);
});

test('the dashboard is Grafana JSON with one query per target, ids unique', () => {
  assert.equal(dashboard.uid, 'sluice-gateway');
  const ids = dashboard.panels.map((p) => (p as unknown as { id: number }).id);
  assert.equal(new Set(ids).size, ids.length);
  assert.ok(dashboard.panels.filter((p) => p.type === 'timeseries').every((p) => (p.targets ?? []).length > 0 && p.targets!.every((t) => t.expr.length > 0)));
  assert.deepEqual(dashboard.templating.list.map((v) => v.name), ['datasource', 'model']);
});

test('every dashboard query parses in a real Prometheus', async (t) => {
  const skip = prometheusSkipReason(['prometheus']);
  if (skip) return t.skip(skip);
  const prom = await startPrometheus({ targets: [], rules: 'groups: []\n' });
  try {
    for (const { where, expr } of dashboardExprs) {
      // Grafana's variables, as Grafana would fill them.
      const q = expr.replaceAll('$__rate_interval', '1m').replaceAll('$model', '.*');
      const res = await fetch(`${prom.url}/api/v1/query?query=${encodeURIComponent(q)}`);
      const body = (await res.json()) as { status: string; error?: string };
      assert.equal(body.status, 'success', `${where}: ${body.error} in ${q}`);
    }
  } finally {
    await prom.stop();
  }
});
