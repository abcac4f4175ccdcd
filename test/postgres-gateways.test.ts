// Scaled out: two gateway processes on one PostgreSQL see the same accounts, keys and balances,
// and together cannot overdraw an account.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { dropSchemaOf, freshPostgresUrl, postgresSkipReason } from './helpers/postgres.js';
import { spawnGateway, writeConfig, type ProcessGateway } from './helpers/process-gateway.js';
import { http } from './helpers/gateway.js';

const ADMIN = 'admin-token-postgres-0123456789';
const skip = await postgresSkipReason();
const storeUrl = freshPostgresUrl();
let a: ProcessGateway;
let b: ProcessGateway;

before(async () => {
  if (skip) return;
  const { dir, file } = writeConfig({
    store: storeUrl,
    adminToken: ADMIN,
    auth: { cacheTtlMs: 200 },
    models: [{ id: 'm', pricing: { inputPerMTok: 1000, outputPerMTok: 1000 }, deployments: [{ id: 's', engine: 'sim', sim: { ttftMs: 1, itlMs: 1, outputTokens: { min: 100, max: 100 } } }] }],
  });
  a = await spawnGateway(file, dir);
  b = await spawnGateway(file, dir);
});
after(async () => {
  if (skip) return;
  a.child.kill('SIGTERM');
  b.child.kill('SIGTERM');
  assert.equal(await a.exited, 0);
  assert.equal(await b.exited, 0);
  await dropSchemaOf(storeUrl);
});

const admin = (gw: ProcessGateway, path: string, init: RequestInit = {}) => http(`${gw.url}/admin${path}`, { ...init, key: ADMIN });
const chat = (gw: ProcessGateway, key: string) =>
  http(`${gw.url}/v1/chat/completions`, { method: 'POST', key, body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }], max_tokens: 10 }) });

test('an account and key made on one replica work on the other, and balances are shared', { skip }, async () => {
  assert.equal((await admin(a, '/accounts', { method: 'POST', body: JSON.stringify({ id: 'shared', credits: 100 }) })).status, 201);
  const key = (await admin(a, '/accounts/shared/keys', { method: 'POST', body: '{}' })).body.key as string;
  const res = await chat(b, key);
  assert.equal(res.status, 200, res.text);
  const cost = (res.body.usage.prompt_tokens + res.body.usage.completion_tokens) * 1000 / 1e6;
  // B writes its ledger from its journal within ~20 ms; A reads the shared database.
  let seenByA = (await admin(a, '/accounts/shared')).body;
  // Both, not one: the admin view reads balance, spend and leases one after another, so a
  // settlement committing in between can show one of them before the other.
  const seen = () => Math.abs(seenByA.credits - (100 - cost)) < 1e-9 && Math.abs(seenByA.spentThisMonth - cost) < 1e-9;
  for (let i = 0; i < 50 && !seen(); i++) {
    await new Promise((r) => setTimeout(r, 20));
    seenByA = (await admin(a, '/accounts/shared')).body;
  }
  assert.ok(Math.abs(seenByA.credits - (100 - cost)) < 1e-9, `A sees B's charge: ${seenByA.credits}`);
  assert.ok(Math.abs(seenByA.spentThisMonth - cost) < 1e-9);
  // Revoked on A: B stops accepting the key within its cache TTL (200 ms here).
  await admin(a, `/keys/${(await admin(a, '/accounts/shared/keys')).body.data[0].id}/revoke`, { method: 'POST' });
  await new Promise((r) => setTimeout(r, 300));
  assert.equal((await chat(b, key)).body.error.code, 'revoked_api_key');
});

test('parallel requests on both replicas cannot overdraw one balance', { skip }, async () => {
  const probe = await admin(a, '/accounts', { method: 'POST', body: JSON.stringify({ id: 'probe', credits: 1000 }) });
  assert.equal(probe.status, 201);
  const probeKey = (await admin(a, '/accounts/probe/keys', { method: 'POST', body: '{}' })).body.key as string;
  const one = await chat(a, probeKey);
  const perRequest = (one.body.usage.prompt_tokens + 10) * 1000 / 1e6;
  await admin(a, '/accounts', { method: 'POST', body: JSON.stringify({ id: 'race', credits: perRequest * 6 }) });
  const key = (await admin(b, '/accounts/race/keys', { method: 'POST', body: '{}' })).body.key as string;
  const results = await Promise.all(Array.from({ length: 40 }, (_, i) => chat(i % 2 ? a : b, key)));
  const served = results.filter((r) => r.status === 200);
  // Reservations may overestimate (a byte bound of the prompt) and are released only when the
  // request settles, so at the edge fewer may pass than the balance would allow; never more.
  assert.ok(served.length >= 1 && served.length <= 6, `${served.length} served`);
  assert.equal(served.length + results.filter((r) => r.body?.error?.code === 'insufficient_credits').length, 40);
  const charged = served.reduce((a, r) => a + (r.body.usage.prompt_tokens + r.body.usage.completion_tokens) * 1000, 0) / 1e6;
  let left = NaN;
  for (let i = 0; i < 50; i++) {
    left = (await admin(a, '/accounts/race')).body.credits + 0;
    const viaB = (await admin(b, '/accounts/race')).body.credits;
    if (Math.abs(left - viaB) < 1e-12 && Math.abs(left - (perRequest * 6 - charged)) < 1e-9) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.ok(left >= 0, `never overdrawn: ${left}`);
  assert.ok(Math.abs(left - (perRequest * 6 - charged)) < 1e-9, `charged exactly what was served: ${left}`);
});
