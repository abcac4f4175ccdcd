// The admin API: its own credentials, validation that changes nothing on bad input, and the
// account, credit, key and usage operations. Plus the same operations through the CLI.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertContractError } from './helpers/assert-error.js';
import { http, startTestGateway, type TestGateway } from './helpers/gateway.js';
import { openStore } from '../src/store/open.js';
import { responseExpiry, type StoredResponse } from '../src/store/responses-repo.js';

const ADMIN = 'admin-token-for-tests-0123456789';
let gw: TestGateway;
const admin = (path: string, init: RequestInit & { key?: string } = {}) => http(`${gw.url}/admin${path}`, { key: ADMIN, ...init });
const post = (path: string, body: unknown) => admin(path, { method: 'POST', body: JSON.stringify(body) });
const patch = (path: string, body: unknown) => admin(path, { method: 'PATCH', body: JSON.stringify(body) });

/** A stored response as the Responses API saves it, with one input and one output item. */
function storedResponse(id: string, accountId: string): StoredResponse {
  const output = [{ id: `msg_${id}_out`, type: 'message', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'hi', annotations: [] }] }];
  return {
    id, accountId, model: 'test-chat', previousResponseId: null, createdAt: new Date().toISOString(), expiresAt: responseExpiry(Date.now(), 30),
    response: { id, object: 'response', status: 'completed', output }, inputItems: [{ id: `msg_${id}_in`, type: 'message', role: 'user', content: 'hello' }], outputItems: output,
  };
}

before(async () => {
  gw = await startTestGateway({ adminToken: ADMIN });
});
after(() => gw.close());

describe('admin credentials', () => {
  test('no token, a wrong token and an API key are all 401', async () => {
    assertContractError(await http(`${gw.url}/admin/accounts/x`), 'missing_api_key');
    assertContractError(await admin('/accounts/x', { key: `${ADMIN}x` }), 'invalid_api_key');
    assertContractError(await admin('/accounts/x', { key: gw.key }), 'invalid_api_key');
    assertContractError(await admin('/accounts', { method: 'POST', key: gw.key, body: JSON.stringify({ id: 'sneaky' }) }), 'invalid_api_key');
    assertContractError(await admin('/accounts/sneaky'), 'account_not_found');
  });
  test('the admin token is not an API key either', async () => {
    assertContractError(await http(`${gw.baseURL}/models`, { key: ADMIN }), 'invalid_api_key');
  });
  test('without an admin token the admin API does not exist', async () => {
    const plain = await startTestGateway();
    try {
      assertContractError(await http(`${plain.url}/admin/accounts/x`, { key: ADMIN }), 'route_not_found');
    } finally {
      await plain.close();
    }
  });
});

describe('accounts', () => {
  test('create, get, patch, add credits', async () => {
    const created = await post('/accounts', { id: 'acme', verified: true, credits: 25, monthlySpendCap: 100 });
    assert.equal(created.status, 201);
    assert.deepEqual({ ...created.body, createdAt: 'x' }, { id: 'acme', status: 'active', verified: true, plan: 'default', credits: 25, monthlySpendCap: 100, limits: null, spentThisMonth: 0, createdAt: 'x' });
    assert.equal((await admin('/accounts/acme')).body.credits, 25);
    const patched = await admin('/accounts/acme', { method: 'PATCH', body: JSON.stringify({ status: 'suspended', monthlySpendCap: null }) });
    assert.equal(patched.body.status, 'suspended');
    assert.equal(patched.body.monthlySpendCap, null);
    assert.equal((await post('/accounts/acme/credits', { amount: 5.5 })).body.credits, 30.5);
    const list = await admin('/accounts');
    assert.ok(list.body.data.some((a: { id: string }) => a.id === 'acme'));
  });

  test('bad input gets its 4xx and changes nothing', async () => {
    await post('/accounts', { id: 'steady', credits: 10 });
    const cases: Array<[string, unknown, string, string | null]> = [
      ['/accounts', { id: 'steady' }, 'already_exists', 'id'],
      ['/accounts', { id: "x'; drop table accounts; --" }, 'invalid_parameter', 'id'],
      ['/accounts', { id: 'a'.repeat(10_000) }, 'invalid_parameter', 'id'],
      ['/accounts', { id: 'neg', credits: -5 }, 'invalid_parameter', 'credits'],
      ['/accounts', { id: 'nan', credits: 'lots' }, 'invalid_parameter', 'credits'],
      ['/accounts', { id: 'extra', isAdmin: true }, 'invalid_parameter', null],
      ['/accounts/steady/credits', { amount: -1 }, 'invalid_parameter', 'amount'],
      ['/accounts/steady/credits', { amount: '10' }, 'invalid_parameter', 'amount'],
      ['/accounts/steady/credits', { amount: 1e300 }, 'invalid_parameter', 'amount'],
      ['/accounts/steady/keys', { priority: 'vip' }, 'invalid_parameter', 'priority'],
      ['/accounts/steady/keys', { expiresAt: 'tomorrow' }, 'invalid_parameter', 'expiresAt'],
      ['/accounts/steady/keys', { name: 'n'.repeat(1000) }, 'invalid_parameter', 'name'],
      ['/accounts/nobody/credits', { amount: 1 }, 'account_not_found', null],
      ['/accounts/nobody/keys', {}, 'account_not_found', null],
      ['/keys/nokey/revoke', {}, 'key_not_found', null],
    ];
    for (const [path, body, code, param] of cases) {
      const res = await post(path, body);
      assert.equal(res.body?.error?.code, code, `${path} ${JSON.stringify(body).slice(0, 60)}: ${res.text.slice(0, 200)}`);
      if (code === 'invalid_parameter' && param !== null) assert.equal(res.body.error.param, param);
    }
    assertContractError(await admin('/accounts', { method: 'POST', body: '{oops' }), 'invalid_json');
    const steady = await admin('/accounts/steady');
    assert.equal(steady.body.credits, 10, 'nothing changed');
    assert.equal((await admin('/accounts/steady/keys')).body.data.length, 0, 'no key was created');
    assertContractError(await admin('/accounts/steady', { method: 'PATCH', body: JSON.stringify({ status: 'deleted' }) }), 'invalid_parameter', 'status');
    assert.equal((await admin('/accounts/steady')).body.status, 'active');
  });
});

describe('rate limits', () => {
  test('accounts: set on create, replaced, kept by other patches, removed', async () => {
    const created = await post('/accounts', { id: 'limited', limits: { rpm: 60 } });
    assert.equal(created.status, 201);
    assert.deepEqual(created.body.limits, { rpm: 60 });
    assert.deepEqual((await patch('/accounts/limited', { limits: { tpm: 50_000 } })).body.limits, { tpm: 50_000 }, 'an object replaces the previous limits');
    assert.deepEqual((await patch('/accounts/limited', { plan: 'pro' })).body.limits, { tpm: 50_000 }, 'no limits field: unchanged');
    assert.deepEqual((await admin('/accounts/limited')).body.limits, { tpm: 50_000 });
    assert.deepEqual((await admin('/accounts')).body.data.find((a: { id: string }) => a.id === 'limited').limits, { tpm: 50_000 });
    assert.equal((await patch('/accounts/limited', { limits: null })).body.limits, null);
    assert.equal((await admin('/accounts/limited')).body.limits, null);
  });

  test('keys: set on create, replaced and removed by PATCH /admin/keys/{id}, which keeps what it is not given', async () => {
    await post('/accounts', { id: 'limkeys' });
    const k = await post('/accounts/limkeys/keys', { name: 'a', limits: { rpm: 5, tpm: 500 } });
    assert.equal(k.status, 201);
    assert.deepEqual(k.body.limits, { rpm: 5, tpm: 500 });
    assert.deepEqual((await admin('/accounts/limkeys/keys')).body.data[0].limits, { rpm: 5, tpm: 500 });
    const replaced = await patch(`/keys/${k.body.id}`, { limits: { rpm: 10 } });
    assert.equal(replaced.status, 200);
    assert.deepEqual({ ...replaced.body, createdAt: 'x' }, { id: k.body.id, accountId: 'limkeys', name: 'a', models: null, priority: 'standard', spendCap: null, limits: { rpm: 10 }, expiresAt: null, revokedAt: null, createdAt: 'x', lastUsedAt: null });
    const renamed = await patch(`/keys/${k.body.id}`, { name: 'b', models: ['test-*'], priority: 'critical', spendCap: 2, expiresAt: '2999-01-01T00:00:00Z' });
    assert.deepEqual([renamed.body.name, renamed.body.models, renamed.body.priority, renamed.body.spendCap, renamed.body.expiresAt, renamed.body.limits], ['b', ['test-*'], 'critical', 2, '2999-01-01T00:00:00.000Z', { rpm: 10 }]);
    const removed = await patch(`/keys/${k.body.id}`, { limits: null, models: null, expiresAt: null });
    assert.deepEqual([removed.body.limits, removed.body.models, removed.body.expiresAt, removed.body.name], [null, null, null, 'b']);
    assert.equal((await admin('/accounts/limkeys/keys')).body.data[0].limits, null);
    // The key still works after the changes (the cached lookup was dropped, not broken).
    const chat = await http(`${gw.baseURL}/chat/completions`, { method: 'POST', key: k.body.key, body: JSON.stringify({ model: 'test-chat', messages: [{ role: 'user', content: 'x' }] }) });
    assert.equal(chat.status, 200, chat.text);
  });

  test('PATCH /admin/keys/{id} on an unknown key is 404 key_not_found', async () => {
    assertContractError(await patch('/keys/nokey', { limits: { rpm: 1 } }), 'key_not_found');
    assertContractError(await patch('/keys/nokey', {}), 'key_not_found');
  });

  test('bad limits are 400 naming the field, and change nothing', async () => {
    await post('/accounts', { id: 'lim-steady', limits: { rpm: 7, tpm: 70 } });
    const key = (await post('/accounts/lim-steady/keys', { limits: { rpm: 3 } })).body;
    const bad: Array<[unknown, string]> = [
      [{ rpm: 0 }, 'limits.rpm'],
      [{ rpm: -5 }, 'limits.rpm'],
      [{ rpm: 1.5 }, 'limits.rpm'],
      [{ rpm: '10' }, 'limits.rpm'],
      [{ tpm: 1_000_000_001 }, 'limits.tpm'],
      [{ tpm: 1e300 }, 'limits.tpm'],
      [{ rpm: 5, burst: 10 }, 'limits.burst'],
      ['fast', 'limits'],
      [[60], 'limits'],
    ];
    for (const [limits, param] of bad) {
      const what = JSON.stringify(limits);
      for (const [res, where] of [
        [await patch('/accounts/lim-steady', { limits }), 'PATCH account'],
        [await post('/accounts', { id: 'lim-new', limits }), 'create account'],
        [await post('/accounts/lim-steady/keys', { limits }), 'create key'],
        [await patch(`/keys/${key.id}`, { limits }), 'PATCH key'],
      ] as const) {
        assert.equal(res.status, 400, `${where} ${what}: ${res.text}`);
        assertContractError(res, 'invalid_parameter', param);
      }
    }
    assertContractError(await patch(`/keys/${key.id}`, { limits: { rpm: 1 }, owner: 'x' }), 'invalid_parameter', 'owner');
    assert.deepEqual((await admin('/accounts/lim-steady')).body.limits, { rpm: 7, tpm: 70 });
    assertContractError(await admin('/accounts/lim-new'), 'account_not_found');
    const keys = (await admin('/accounts/lim-steady/keys')).body.data;
    assert.equal(keys.length, 1, 'no key was created');
    assert.deepEqual(keys[0].limits, { rpm: 3 });
  });
});

describe('keys and usage', () => {
  test('a key is shown once, listed without secrets, works, and stops when revoked', async () => {
    await post('/accounts', { id: 'keyed' });
    const k = await post('/accounts/keyed/keys', { name: 'ci', models: ['test-*'], priority: 'batch', spendCap: 3 });
    assert.equal(k.status, 201);
    assert.match(k.body.key, /^sk-sluice-/);
    const listed = await admin('/accounts/keyed/keys');
    assert.equal(listed.body.data.length, 1);
    const text = listed.text;
    assert.ok(!text.includes(k.body.key) && !text.includes(k.body.key.split('_')[1]) && !text.includes('hash'), 'no secret or hash listed');
    assert.deepEqual({ ...listed.body.data[0], createdAt: 'x' }, { id: k.body.id, accountId: 'keyed', name: 'ci', models: ['test-*'], priority: 'batch', spendCap: 3, limits: null, expiresAt: null, revokedAt: null, createdAt: 'x', lastUsedAt: null });
    const chat = await http(`${gw.baseURL}/chat/completions`, { method: 'POST', key: k.body.key, body: JSON.stringify({ model: 'test-chat', messages: [{ role: 'user', content: 'x' }] }) });
    assert.equal(chat.status, 200);
    assert.ok((await admin('/accounts/keyed/keys')).body.data[0].lastUsedAt, 'last used time recorded');
    const revoked = await post(`/keys/${k.body.id}/revoke`, {});
    assert.ok(revoked.body.revokedAt);
    const again = await http(`${gw.baseURL}/chat/completions`, { method: 'POST', key: k.body.key, body: JSON.stringify({ model: 'test-chat', messages: [{ role: 'user', content: 'x' }] }) });
    assertContractError(again, 'revoked_api_key');
  });

  test('usage: totals and per-day rows, filtered; bad filters are 400', async () => {
    const u = await admin(`/usage?account=keyed&from=${new Date().toISOString().slice(0, 10)}`);
    assert.equal(u.status, 200);
    assert.equal(u.body.totals.requests, 1);
    assert.ok(u.body.totals.inputTokens > 0);
    assert.equal(u.body.days[0].requests, 1);
    assert.equal((await admin('/usage?account=keyed&model=other')).body.totals.requests, 0);
    assertContractError(await admin('/usage?from=yesterday'), 'invalid_parameter', 'from');
    assertContractError(await admin('/usage?colour=red'), 'invalid_parameter', 'colour');
  });
});

describe('stored responses', () => {
  test("DELETE /admin/accounts/{id}/responses deletes the account's stored responses, and only its", async () => {
    await post('/accounts', { id: 'resp-a' });
    await post('/accounts', { id: 'resp-b' });
    for (let i = 0; i < 3; i++) await gw.store.responses.save(storedResponse(`resp_a${i}`, 'resp-a'));
    await gw.store.responses.save(storedResponse('resp_b0', 'resp-b'));
    const del = await admin('/accounts/resp-a/responses', { method: 'DELETE' });
    assert.equal(del.status, 200, del.text);
    assert.deepEqual(del.body, { object: 'responses.deleted', account: 'resp-a', deleted: 3 });
    assert.match(del.headers.get('x-request-id') ?? '', /^req_/);
    assert.equal(await gw.store.responses.get('resp-a', 'resp_a0'), undefined);
    assert.equal((await gw.store.responses.findItems('resp-a', ['msg_resp_a1_in', 'msg_resp_a2_out'])).size, 0);
    assert.equal((await gw.store.responses.get('resp-b', 'resp_b0'))?.id, 'resp_b0', "another account's are kept");
    assert.deepEqual((await admin('/accounts/resp-a/responses', { method: 'DELETE' })).body, { object: 'responses.deleted', account: 'resp-a', deleted: 0 });
  });

  test('an unknown account is 404 account_not_found; the admin token is required; other methods are 405', async () => {
    assertContractError(await admin('/accounts/nobody/responses', { method: 'DELETE' }), 'account_not_found');
    assertContractError(await http(`${gw.url}/admin/accounts/resp-b/responses`, { method: 'DELETE' }), 'missing_api_key');
    assertContractError(await admin('/accounts/resp-b/responses', { method: 'DELETE', key: gw.key }), 'invalid_api_key');
    const get = await admin('/accounts/resp-b/responses');
    assertContractError(get, 'method_not_allowed');
    assert.equal(get.headers.get('allow'), 'DELETE');
    assert.equal((await gw.store.responses.get('resp-b', 'resp_b0'))?.id, 'resp_b0', 'nothing was deleted');
  });
});

describe('CLI over the same operations', () => {
  test('accounts, keys and usage with tables and --json', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-cli-'));
    const config = join(dir, 'sluice.yaml');
    writeFileSync(config, `store: sqlite://${join(dir, 'cli.db')}\n`);
    const cli = new URL('../src/cli/main.js', import.meta.url).pathname;
    const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args, '--config', config], { encoding: 'utf8', timeout: 10_000 });
    const created = run('accounts', 'create', 'acme', '--credits', '12.5', '--json');
    assert.equal(created.status, 0, created.stderr);
    assert.equal(JSON.parse(created.stdout).credits, 12.5);
    const table = run('accounts', 'get', 'acme');
    assert.match(table.stdout, /│ acme +│ active/);
    const key = run('keys', 'create', '--account', 'acme', '--models', 'llama-*,qwen-*', '--json');
    const k = JSON.parse(key.stdout);
    assert.deepEqual(k.models, ['llama-*', 'qwen-*']);
    assert.match(k.key, /^sk-sluice-/);
    const keys = JSON.parse(run('keys', 'list', '--account', 'acme', '--json').stdout);
    assert.equal(keys.length, 1);
    assert.ok(!JSON.stringify(keys).includes(k.key));
    assert.ok(JSON.parse(run('keys', 'revoke', k.id, '--json').stdout).revokedAt);
    assert.equal(JSON.parse(run('accounts', 'add-credits', 'acme', '2.5', '--json').stdout).credits, 15);
    const bad = run('accounts', 'add-credits', 'acme', 'lots');
    assert.notEqual(bad.status, 0);
    const neg = run('accounts', 'create', 'neg', '--credits', '-1');
    assert.equal(neg.status, 1);
    assert.match(neg.stderr, /credits/);
    assert.equal(run('accounts', 'get', 'neg').status, 1, 'nothing was created');
    const usage = JSON.parse(run('usage', '--account', 'acme', '--json').stdout);
    assert.equal(usage.totals.requests, 0);

    // Rate limits: set on create, merged flag by flag on update, `none` removes one.
    const limited = run('accounts', 'create', 'lim', '--rpm', '60', '--json');
    assert.equal(limited.status, 0, limited.stderr);
    assert.deepEqual(JSON.parse(limited.stdout).limits, { rpm: 60 });
    assert.match(run('accounts', 'get', 'lim').stdout, /limits/);
    assert.deepEqual(JSON.parse(run('accounts', 'update', 'lim', '--tpm', '1000', '--json').stdout).limits, { rpm: 60, tpm: 1000 }, 'the other limit is kept');
    assert.deepEqual(JSON.parse(run('accounts', 'update', 'lim', '--rpm', 'none', '--json').stdout).limits, { tpm: 1000 });
    assert.equal(JSON.parse(run('accounts', 'update', 'lim', '--tpm', 'none', '--json').stdout).limits, null);
    const lk = JSON.parse(run('keys', 'create', '--account', 'lim', '--rpm', '5', '--tpm', '50', '--json').stdout);
    assert.deepEqual(lk.limits, { rpm: 5, tpm: 50 });
    const updated = run('keys', 'update', lk.id, '--rpm', '9', '--name', 'renamed', '--json');
    assert.equal(updated.status, 0, updated.stderr);
    assert.deepEqual([JSON.parse(updated.stdout).limits, JSON.parse(updated.stdout).name], [{ rpm: 9, tpm: 50 }, 'renamed']);
    assert.deepEqual(JSON.parse(run('keys', 'update', lk.id, '--tpm', 'none', '--json').stdout).limits, { rpm: 9 });
    assert.match(run('keys', 'list', '--account', 'lim').stdout, /\{"rpm":9\}/);
    for (const args of [['accounts', 'update', 'lim', '--rpm', '0'], ['accounts', 'create', 'lim-bad', '--tpm', '1.5'], ['keys', 'update', lk.id, '--rpm', '1.5'], ['keys', 'update', lk.id, '--tpm', '0'], ['keys', 'create', '--account', 'lim', '--rpm', '-1'], ['keys', 'update', lk.id, '--rpm', 'lots']]) {
      const r = run(...args);
      assert.notEqual(r.status, 0, args.join(' '));
      assert.match(r.stderr, /rpm|tpm/, args.join(' '));
    }
    assert.equal(run('accounts', 'get', 'lim-bad').status, 1, 'nothing was created');
    assert.equal(JSON.parse(run('accounts', 'get', 'lim', '--json').stdout).limits, null);
    const after = JSON.parse(run('keys', 'list', '--account', 'lim', '--json').stdout);
    assert.equal(after.length, 1, 'no key was created');
    assert.deepEqual(after[0].limits, { rpm: 9 });
    const unknown = run('keys', 'update', 'nokey', '--rpm', '1');
    assert.equal(unknown.status, 1);
    assert.match(unknown.stderr, /key_not_found/);
  });

  test("accounts delete-responses: the account's stored responses, a table or JSON; an unknown account fails", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-cli-'));
    const config = join(dir, 'sluice.yaml');
    writeFileSync(config, `store: sqlite://${join(dir, 'cli.db')}\n`);
    const cli = new URL('../src/cli/main.js', import.meta.url).pathname;
    const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args, '--config', config], { encoding: 'utf8', timeout: 10_000 });
    assert.equal(run('accounts', 'create', 'talker').status, 0);
    const store = await openStore(`sqlite://${join(dir, 'cli.db')}`);
    try {
      for (let i = 0; i < 2; i++) await store.responses.save(storedResponse(`resp_cli${i}`, 'talker'));
    } finally {
      await store.close();
    }
    const deleted = run('accounts', 'delete-responses', 'talker', '--json');
    assert.equal(deleted.status, 0, deleted.stderr);
    assert.deepEqual(JSON.parse(deleted.stdout), { object: 'responses.deleted', account: 'talker', deleted: 2 });
    assert.match(run('accounts', 'delete-responses', 'talker').stdout, /│ talker +│ 0 +│/);
    const unknown = run('accounts', 'delete-responses', 'nobody');
    assert.equal(unknown.status, 1);
    assert.match(unknown.stderr, /account_not_found/);
  });
});
