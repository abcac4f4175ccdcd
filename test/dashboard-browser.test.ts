// The status page and the admin dashboard in headless Chromium (Debian's package, through
// playwright-core): they load without console errors, the dashboard signs in with the admin
// token (kept in sessionStorage), shows the numbers its data endpoint returns and follows new
// traffic, keeps one polling loop when the user signs out and in again during a read, markup in
// a model id or an account id shows as text without running, and a screenshot of each page is
// saved under test-artifacts/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import type { Page, Route } from 'playwright-core';
import { startTestGateway, simModel, http, type TestGateway } from './helpers/gateway.js';
import { chromiumSkipReason, launchChromium, screenshot, watchPage, type Browser } from './helpers/chromium.js';
import { createKeyFor } from '../src/keys/bootstrap.js';

const ADMIN = 'admin-token-for-the-browser-0123456789';
const XSS_MODEL = 'x<script>alert(1)</script>';
/** Account ids come from the admin API's callers: one with markup that would fire if it ran. */
const XSS_ACCOUNT = '<img src=x onerror=alert(2)>';
const skip = chromiumSkipReason();
let gw: TestGateway;
let browser: Browser;
let xssKey: string;

function chat(model: string, opts: { key?: string; stream?: boolean; fault?: string } = {}) {
  return http(`${gw.baseURL}/chat/completions`, {
    method: 'POST',
    key: opts.key ?? gw.key,
    headers: opts.fault ? { 'x-sluice-fault': opts.fault } : {},
    body: JSON.stringify({ model, stream: opts.stream ?? false, messages: [{ role: 'user', content: 'Say hello.' }], max_tokens: 8 }),
  });
}

before(async () => {
  if (skip) return;
  gw = await startTestGateway({
    adminToken: ADMIN,
    models: [
      simModel('chat-a', { pricing: { inputPerMTok: 500, outputPerMTok: 1500 }, retries: { maxAttempts: 1 } }),
      simModel(XSS_MODEL, { pricing: { inputPerMTok: 500, outputPerMTok: 1500 } }),
      simModel('drained', { maintenance: true }),
      simModel('secret-model', { owner: 'acme-corp' }),
      { id: 'queued', deployments: [{ id: 'queued-sim', engine: 'sim', admission: { maxConcurrency: 2, maxQueue: 16 }, sim: { ttftMs: 1, itlMs: 1 } }] },
    ],
  });
  xssKey = (await createKeyFor(gw.store, XSS_ACCOUNT)).key;
  const sends = [
    ...Array.from({ length: 3 }, () => chat('chat-a', { stream: true })),
    ...Array.from({ length: 2 }, () => chat('chat-a')),
    ...Array.from({ length: 2 }, () => chat('chat-a', { fault: 'crash' })),
    chat(XSS_MODEL, { stream: true, key: xssKey }),
    chat(XSS_MODEL, { key: xssKey }),
  ];
  for (const s of sends) await s;
  await gw.settled(); // the ledger rows in the database before the dashboard reads the top spenders
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await gw?.close();
});

/** The dashboard's data as the page rendered it: every [data-field] and every table's cells. */
function readDashboard(page: Page) {
  return page.evaluate(() => {
    const fields: Record<string, string> = {};
    for (const el of document.querySelectorAll<HTMLElement>('[data-field]')) fields[el.dataset.field!] = el.textContent ?? '';
    const tables: Record<string, string[][]> = {};
    for (const t of document.querySelectorAll('table')) tables[t.id] = [...t.tBodies[0]!.rows].map((r) => [...r.cells].map((c) => c.textContent ?? ''));
    return { generatedAt: document.body.dataset.generatedAt, fields, tables };
  });
}

const text = (v: unknown) => (v === null || v === undefined ? '–' : String(v));

test('the status page loads without console errors, escapes the model id, and is saved as a screenshot', { skip }, async () => {
  const page = await browser.context.newPage();
  const seen = watchPage(page);
  const res = await page.goto(`${gw.url}/status`);
  assert.equal(res?.status(), 200);
  const rows = await page.$$eval('tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
  assert.deepEqual(rows.map((r) => [r[0], r[1]]), [['chat-a', 'Operational'], [XSS_MODEL, 'Operational'], ['drained', 'Maintenance'], ['queued', 'Operational']]);
  assert.equal(await page.locator('script').count(), 0, 'the status page runs no script, the model id included');
  assert.equal(await page.locator('.headline').textContent(), 'Some models are under maintenance');
  // The stylesheet applied (the CSP allowed it): the headline has the maintenance colour.
  assert.equal(await page.locator('.headline').evaluate((el) => getComputedStyle(el).backgroundColor), 'rgb(9, 105, 218)');
  const shot = await screenshot(page, 'status.png');
  assert.ok(existsSync(shot));
  assert.deepEqual(seen.dialogs, []);
  assert.deepEqual(seen.errors, []);
  await page.close();
});

test('the dashboard signs in with the admin token, shows the data endpoint\'s numbers as text, follows new traffic, and is saved as a screenshot', { skip }, async () => {
  const page = await browser.context.newPage();
  const seen = watchPage(page);
  // Every answer of the data endpoint the page read, by its generation time.
  const answers = new Map<string, any>();
  page.on('response', async (r) => {
    if (r.url().endsWith('/admin/dashboard/data') && r.status() === 200) {
      const body = await r.json();
      answers.set(body.generatedAt, body);
    }
  });
  await page.goto(`${gw.url}/admin/dashboard`);
  assert.equal(await page.locator('#sign-in').isVisible(), true);
  assert.equal(await page.locator('#board').isVisible(), false);
  assert.equal(answers.size, 0, 'no data is asked for before signing in');

  const first = page.waitForResponse((r) => r.url().endsWith('/admin/dashboard/data'));
  await page.fill('#token', ADMIN);
  await page.click('#sign-in button[type=submit]');
  assert.equal((await first).status(), 200);
  await page.waitForFunction(() => document.body.dataset.generatedAt !== undefined);
  assert.equal(await page.evaluate(() => sessionStorage.getItem('sluice-admin-token')), ADMIN, 'kept in the session storage');
  assert.equal(await page.evaluate(() => localStorage.length), 0, 'and nowhere that outlives the tab');
  assert.equal(await page.locator('#token').inputValue(), '', 'the form forgets it');

  const shown = await readDashboard(page);
  const d = answers.get(shown.generatedAt!);
  assert.ok(d, 'the page shows an answer of the data endpoint');
  for (const [path, value] of Object.entries(shown.fields)) {
    const expected = path.split('.').reduce((o: any, k) => o?.[k], d);
    assert.equal(value, text(expected), `${path}`);
  }
  assert.deepEqual(shown.tables.errors, d.traffic.errorsByCode.map((e: any) => [e.code, text(e.status), text(e.count), text(e.perSecond)]));
  assert.deepEqual(shown.tables.models, d.models.map((m: any) => [m.id, m.state, text(m.requests), text(m.serverErrors)]));
  assert.deepEqual(shown.tables.deployments, d.deployments.map((x: any) => [x.model, x.deployment, x.circuit, x.health, x.maintenance ? 'yes' : 'no', text(x.inFlight)]));
  assert.deepEqual(shown.tables.queues, d.queues.map((q: any) => [q.deployment, text(q.total), text(q.queued.critical), text(q.queued.standard), text(q.queued.batch), text(q.capacity), text(q.inService), text(q.limit)]));
  assert.deepEqual(shown.tables.queues, [['queued-sim', '0', '0', '0', '0', '16', '0', '2']]);
  assert.deepEqual(shown.tables['rate-limits'], [['None']]);
  assert.deepEqual(shown.tables.accounts, d.topAccounts.accounts.map((a: any) => [a.account, text(a.requests), text(a.inputTokens), text(a.outputTokens), `$${a.spendUsd.toFixed(6)}`]));

  // …and those are what the gateway did: the counts match an independent read of the endpoint.
  const now = (await http(`${gw.url}/admin/dashboard/data`, { key: ADMIN })).body;
  assert.equal(shown.fields['traffic.requests'], '9');
  assert.equal(now.traffic.requests, 9);
  assert.equal(shown.fields['traffic.serverErrors'], '2');
  assert.equal(shown.fields['ttft.count'], '7', '4 streams and 3 whole answers whose first token the simulator reports');
  assert.deepEqual(shown.tables.errors!.map((r) => [r[0], r[2]]), [['engine_error', '2']]);

  // Markup in a model id and an account id is text: shown as typed, never run, no element made.
  assert.ok(shown.tables.models!.some((r) => r[0] === XSS_MODEL));
  assert.ok(shown.tables.accounts!.some((r) => r[0] === XSS_ACCOUNT));
  assert.equal(await page.locator('img').count(), 0);
  assert.equal(await page.locator('script').count(), 2, "only the page's own two scripts");
  assert.equal(await page.locator('.uplot canvas').count(), 3, 'three charts drawn');

  // Refreshed every few seconds: new traffic appears without a reload.
  assert.equal((await chat('chat-a')).status, 200);
  await page.waitForFunction(() => document.querySelector('[data-field="traffic.requests"]')?.textContent === '10', undefined, { timeout: 15_000 });

  const shot = await screenshot(page, 'dashboard.png');
  assert.ok(existsSync(shot));
  // Still signed in after a reload (same tab, same session storage).
  await page.reload();
  await page.waitForFunction(() => document.body.dataset.generatedAt !== undefined);
  assert.equal(await page.locator('#sign-in').isVisible(), false);
  await page.click('#sign-out');
  assert.equal(await page.evaluate(() => sessionStorage.getItem('sluice-admin-token')), null);
  assert.equal(await page.locator('#sign-in').isVisible(), true);

  assert.deepEqual(seen.dialogs, [], 'no alert fired');
  assert.deepEqual(seen.errors, []);
  await page.close();
});

test('a wrong admin token is refused on the sign-in form, with the gateway\'s message as text', { skip }, async () => {
  const page = await browser.context.newPage();
  const seen = watchPage(page);
  await page.goto(`${gw.url}/admin/dashboard`);
  const refused = page.waitForResponse((r) => r.url().endsWith('/admin/dashboard/data'));
  await page.fill('#token', `${ADMIN}-wrong`);
  await page.click('#sign-in button[type=submit]');
  assert.equal((await refused).status(), 401);
  await page.locator('#sign-in-error').filter({ hasText: 'The admin token is not valid.' }).waitFor();
  assert.equal(await page.locator('#board').isVisible(), false);
  assert.equal(await page.evaluate(() => sessionStorage.getItem('sluice-admin-token')), null, 'a refused token is not kept');
  // The browser reports the 401 itself; nothing else went wrong.
  assert.deepEqual(seen.errors.filter((e) => !e.includes('401')), []);
  assert.deepEqual(seen.dialogs, []);
  await page.close();
});

// Last in the file: the fake clock it installs is the whole browser context's, and stays.
test('signing out and in again while a refresh is in flight leaves one polling loop, not two', { skip }, async () => {
  const REFRESH_MS = 3000; // public/dashboard.js
  const page = await browser.context.newPage();
  const seen = watchPage(page);
  await page.clock.install();
  // Counts the page's reads of the data endpoint as it makes them, whatever the network does after.
  await page.addInitScript(() => {
    const w = window as unknown as { dataFetches: number; fetch: typeof fetch };
    const real = w.fetch.bind(window);
    w.dataFetches = 0;
    w.fetch = (input, init) => {
      if (String(input).endsWith('/admin/dashboard/data')) w.dataFetches++;
      return real(input, init);
    };
  });
  const fetches = () => page.evaluate(() => (window as unknown as { dataFetches: number }).dataFetches);
  const shown = (generatedAt: string) => page.waitForFunction((g) => document.body.dataset.generatedAt === g, generatedAt);
  await page.goto(`${gw.url}/admin/dashboard`);
  const signIn = async () => {
    await page.fill('#token', ADMIN);
    await page.click('#sign-in button[type=submit]');
  };
  await signIn();
  await page.waitForFunction(() => document.body.dataset.generatedAt !== undefined);

  // Hold the data requests: the next poll's stays in flight while the user signs out and in again.
  const held: Route[] = [];
  let arrived = () => {};
  const nextHeld = (n: number) => new Promise<void>((resolve) => {
    arrived = () => held.length >= n && resolve();
    arrived();
  });
  await page.route('**/admin/dashboard/data', (route) => {
    held.push(route);
    arrived();
  });
  const polled = nextHeld(1);
  await page.clock.runFor(REFRESH_MS);
  await polled;
  await page.click('#sign-out');
  const signedIn = nextHeld(2);
  await signIn();
  await signedIn;
  const [stale, fresh] = held as [Route, Route];
  await stale.continue();
  await fresh.continue();
  await page.unroute('**/admin/dashboard/data');
  await (await stale.request().response())?.finished();
  const freshAnswer = await (await fresh.request().response())!.json();
  await shown(freshAnswer.generatedAt);

  // From here, one read per refresh period: two loops would make two.
  const before = await fetches();
  for (let round = 1; round <= 3; round++) {
    const answered = page.waitForResponse((r) => r.url().endsWith('/admin/dashboard/data'));
    await page.clock.runFor(REFRESH_MS);
    assert.equal(await fetches(), before + round, `reads after ${round} refresh periods`);
    await shown((await (await answered).json()).generatedAt);
  }
  assert.deepEqual(seen.dialogs, []);
  assert.deepEqual(seen.errors, []);
  await page.close();
});
