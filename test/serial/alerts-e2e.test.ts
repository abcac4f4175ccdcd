// End to end: a real Prometheus scrapes a running gateway every second with the shipped alert rules
// (windows shortened, see fastRules). Simulator faults make one model's requests fail 503 and
// another's streams wait 1.5 s for their first token; the per-model 5xx and 503 alerts and the
// first-token budget burn (through the recording rules) reach `firing` through Prometheus's HTTP
// API, and once the faults stop they resolve. In serial/: it loads both cores for ~25 s (a
// Prometheus, ~60 requests a second) and waits on scrape timing, so it runs alone.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { ALERTS_FILE, prometheusSkipReason } from '../helpers/prometheus.js';
import { fastRules, startPrometheus, type PrometheusServer } from '../helpers/prometheus-server.js';
import { http, simModel, startTestGateway, type TestGateway } from '../helpers/gateway.js';

const skip = prometheusSkipReason(['prometheus']);
let gw: TestGateway | undefined;
let prom: PrometheusServer | undefined;
/** Whether the load sends its faults; the load runs until `running` is false. */
let faulty = false;
let running = true;
let load: Promise<void> | undefined;

before(async () => {
  if (skip) return;
  // A second model that stays healthy: the alerts must name the faulty one only.
  gw = await startTestGateway({ models: [simModel('e2e-faulty'), simModel('e2e-healthy'), simModel('e2e-slow', {}, { slowFirstTokenMs: 1_500 })] });
  prom = await startPrometheus({ targets: [new URL(gw.url).host], rules: fastRules(readFileSync(ALERTS_FILE, 'utf8')) });
  const send = (model: string, fault: boolean) => http(`${gw!.baseURL}/chat/completions`, {
    method: 'POST',
    key: gw!.key,
    headers: fault ? { 'x-sluice-fault': 'capacity' } : {},
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 }),
  });
  const stream = (fault: boolean) => gw!.client().chat.completions.create({ model: 'e2e-slow', messages: [{ role: 'user', content: 'hi' }], max_tokens: 2, stream: true }, { headers: fault ? { 'x-sluice-fault': 'slow-first-token' } : {} })
    .then(async (s) => {
      for await (const _ of s);
    });
  // About 20 requests a second per model, far above the rules' 0.1/s traffic floor; streams four
  // at a time (about 3 a second while slow).
  load = (async () => {
    const requests = (async () => {
      while (running) await Promise.all([send('e2e-faulty', faulty), send('e2e-healthy', false), sleep(50)]);
    })();
    const streams = Array.from({ length: 4 }, async () => {
      while (running) await Promise.all([stream(faulty), sleep(50)]);
    });
    await Promise.all([requests, ...streams]);
  })();
});

after(async () => {
  running = false;
  await load;
  await prom?.stop();
  await gw?.close();
});

/** Polls Prometheus until `ok` holds of the alerts, or fails after `ms` with what it saw. */
async function until(what: string, ms: number, ok: (alerts: Awaited<ReturnType<PrometheusServer['alerts']>>) => boolean) {
  const deadline = Date.now() + ms;
  let last: unknown;
  while (Date.now() < deadline) {
    const alerts = await prom!.alerts();
    if (ok(alerts)) return alerts;
    last = alerts;
    await sleep(500);
  }
  assert.fail(`${what} within ${ms} ms; last /api/v1/alerts: ${JSON.stringify(last)}\nprometheus:\n${prom!.output().slice(-2000)}`);
}

const named = (alerts: Array<{ labels: Record<string, string>; state: string }>, name: string) => alerts.filter((a) => a.labels.alertname === name);

test('503s and slow first tokens fire the models\' alerts, which resolve when the faults stop', { timeout: 120_000 }, async (t) => {
  if (skip) return t.skip(skip);
  // Healthy traffic first: nothing fires.
  await sleep(4_000);
  assert.deepEqual(await prom!.alerts(), []);

  faulty = true;
  const firing = await until('SluiceHigh5xxRatio and SluiceServiceUnavailableSpike firing for e2e-faulty, SluiceFirstTokenBudgetBurnFast for e2e-slow', 45_000, (alerts) =>
    ['SluiceHigh5xxRatio', 'SluiceServiceUnavailableSpike'].every((n) => named(alerts, n).some((a) => a.state === 'firing' && a.labels.model === 'e2e-faulty'))
    && named(alerts, 'SluiceFirstTokenBudgetBurnFast').some((a) => a.state === 'firing' && a.labels.gen_ai_request_model === 'e2e-slow'));
  for (const a of firing) {
    const model = a.labels.model ?? a.labels.gen_ai_request_model;
    assert.ok(model === 'e2e-faulty' || model === 'e2e-slow', `only the faulty models alert: ${JSON.stringify(a.labels)}`);
  }
  assert.equal(named(firing, 'SluiceHigh5xxRatio')[0]!.labels.severity, 'page');

  faulty = false;
  await until('the alerts to resolve', 45_000, (alerts) => alerts.length === 0);
});
