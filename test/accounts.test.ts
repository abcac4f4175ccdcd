// Accounts, keys, models and credits through the official openai client: every contract entry of
// the accounts issue, in the contract's precedence order, and credits that never overdraw.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { http, simModel, startTestGateway, type TestGateway } from './helpers/gateway.js';
import { assertContractError } from './helpers/assert-error.js';

const ADMIN = 'admin-token-0123456789abcdef';
const KEYS = {
  acme: 'acme-key-0123456789-abcdef',
  acmeScoped: 'acme-scoped-key-0123456789',
  unverified: 'unverified-key-0123456789ab',
  suspended: 'suspended-key-0123456789ab',
  broke: 'broke-key-0123456789abcdef',
  capped: 'capped-key-0123456789abcdef',
  globex: 'globex-key-0123456789abcdef',
};
// $1000 / $2000 per million tokens: 1,000,000 and 2,000,000 nano-USD a token, easy to check.
const PRICING = { inputPerMTok: 1000, outputPerMTok: 2000 };
const FULL_LENGTH = { outputTokens: { min: 1000, max: 1000 } };

let gw: TestGateway;
const client = (key: string) => gw.client({ apiKey: key });
const admin = (path: string, init: RequestInit = {}) => http(`${gw.url}/admin${path}`, { ...init, key: ADMIN });
const ask = (model: string, extra: Partial<OpenAI.ChatCompletionCreateParamsNonStreaming> = {}) => ({ model, messages: [{ role: 'user' as const, content: 'What is a gateway?' }], max_tokens: 5, ...extra });

async function balance(account: string): Promise<number> {
  return (await admin(`/accounts/${account}`)).body.credits;
}

async function apiError(p: Promise<unknown>): Promise<InstanceType<typeof OpenAI.APIError>> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof OpenAI.APIError, String(err));
    return err;
  }
  assert.fail('expected an API error');
}

before(async () => {
  gw = await startTestGateway({
    adminToken: ADMIN,
    models: [
      simModel('llama-open', { pricing: PRICING }, FULL_LENGTH),
      simModel('gated', { requiresVerification: true }),
      simModel('acme-private', { owner: 'acme' }),
      simModel('globex-private', { owner: 'globex' }),
      simModel('tiny-context', { contextLength: 50, pricing: PRICING }),
    ],
    accounts: [
      { id: 'acme', verified: true, credits: 1000, keys: [{ key: KEYS.acme }, { key: KEYS.acmeScoped, models: ['llama-*'] }] },
      { id: 'unverified', keys: [{ key: KEYS.unverified }] },
      { id: 'suspended', status: 'suspended', keys: [{ key: KEYS.suspended, models: ['nothing-*'] }] },
      { id: 'broke', credits: 0.001, keys: [{ key: KEYS.broke }] },
      { id: 'capped', monthlySpendCap: 0.02, keys: [{ key: KEYS.capped }] },
      { id: 'globex', verified: true, keys: [{ key: KEYS.globex }] },
    ],
  });
});
after(() => gw.close());

describe('contract entries', () => {
  test('412 account_suspended', async () => {
    const e = await apiError(client(KEYS.suspended).chat.completions.create(ask('llama-open')));
    assert.equal(e.status, 412);
    assert.equal(e.code, 'account_suspended');
  });

  test('404 for a private model of another account is indistinguishable from a missing one', async () => {
    const strip = (res: Awaited<ReturnType<typeof http>>, id: string) => ({ status: res.status, ...res.body.error, message: res.body.error.message.replace(id, 'ID'), request_id: null });
    const body = (model: string) => JSON.stringify(ask(model));
    const privateOne = await http(`${gw.baseURL}/chat/completions`, { method: 'POST', key: KEYS.globex, body: body('acme-private') });
    const missing = await http(`${gw.baseURL}/chat/completions`, { method: 'POST', key: KEYS.globex, body: body('acme-privatx') });
    assertContractError(privateOne, 'model_not_found', 'model');
    assert.deepEqual(strip(privateOne, 'acme-private'), strip(missing, 'acme-privatx'));
    const get = await http(`${gw.baseURL}/models/acme-private`, { key: KEYS.globex });
    assertContractError(get, 'model_not_found');
    assert.equal((await client(KEYS.acme).chat.completions.create(ask('acme-private'))).model, 'acme-private', 'the owner can use it');
  });

  test('403 model_access_denied and verification_required', async () => {
    const scoped = await apiError(client(KEYS.acmeScoped).chat.completions.create(ask('gated')));
    assert.equal(scoped.status, 403);
    assert.equal(scoped.code, 'model_access_denied');
    assert.ok(scoped instanceof OpenAI.PermissionDeniedError);
    const gated = await apiError(client(KEYS.unverified).chat.completions.create(ask('gated')));
    assert.equal(gated.code, 'verification_required');
    assert.equal((await client(KEYS.acmeScoped).chat.completions.create(ask('llama-open'))).object, 'chat.completion', 'in scope: allowed');
  });

  test('402 insufficient_credits, not retried by the SDK', async () => {
    const res = await http(`${gw.baseURL}/chat/completions`, { method: 'POST', key: KEYS.broke, body: JSON.stringify(ask('llama-open')) });
    assertContractError(res, 'insufficient_credits');
    assert.equal(await balance('broke'), 0.001, 'a refused request takes nothing');
  });

  test('402 spend_limit_reached says when it resets', async () => {
    // Each request costs ~$0.02 (prompt) + $0.01 (5 tokens): the cap of $0.02 is reached at once.
    const e = await apiError(client(KEYS.capped).chat.completions.create(ask('llama-open')));
    assert.equal(e.status, 402);
    assert.equal(e.code, 'spend_limit_reached');
    const now = new Date();
    const reset = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1)).toISOString();
    assert.ok(e.message.includes(reset), e.message);
  });

  test('401 expired_api_key and revoked_api_key (revocation is immediate on this replica)', async () => {
    const expired = await admin('/accounts/acme/keys', { method: 'POST', body: JSON.stringify({ expiresAt: '2020-01-01T00:00:00Z' }) });
    assert.equal(expired.status, 201);
    assert.equal((await apiError(client(expired.body.key).models.list())).code, 'expired_api_key');
    const k = await admin('/accounts/acme/keys', { method: 'POST', body: JSON.stringify({ name: 'soon revoked' }) });
    assert.ok((await client(k.body.key).models.list()).data.length > 0);
    assert.equal((await admin(`/keys/${k.body.id}/revoke`, { method: 'POST' })).status, 200);
    const e = await apiError(client(k.body.key).models.list());
    assert.equal(e.status, 401);
    assert.equal(e.code, 'revoked_api_key');
  });
});

describe('precedence', () => {
  test('400 bad parameters come before 412 suspended', async () => {
    const res = await http(`${gw.baseURL}/chat/completions`, { method: 'POST', key: KEYS.suspended, body: JSON.stringify({ model: 'llama-open', messages: [] }) });
    assertContractError(res, 'invalid_parameter', 'messages');
  });
  test('412 suspended comes before 404 and 403', async () => {
    assert.equal((await apiError(client(KEYS.suspended).chat.completions.create(ask('no-such-model')))).code, 'account_suspended');
    assert.equal((await apiError(client(KEYS.suspended).chat.completions.create(ask('llama-open')))).code, 'account_suspended');
  });
  test('404 private model comes before 403 verification', async () => {
    assert.equal((await apiError(client(KEYS.unverified).chat.completions.create(ask('globex-private')))).code, 'model_not_found');
  });
  test('402 comes before the 400 context check', async () => {
    const long = ask('tiny-context', { messages: [{ role: 'user', content: 'word '.repeat(100) }] });
    assert.equal((await apiError(client(KEYS.broke).chat.completions.create(long))).code, 'insufficient_credits');
    assert.equal((await apiError(client(KEYS.acme).chat.completions.create(long))).code, 'context_length_exceeded');
  });
});

describe('models listing', () => {
  test('GET /v1/models lists only what the key may use', async () => {
    const ids = async (key: string) => (await client(key).models.list()).data.map((m) => m.id).sort();
    assert.deepEqual(await ids(KEYS.acme), ['acme-private', 'gated', 'llama-open', 'tiny-context']);
    assert.deepEqual(await ids(KEYS.acmeScoped), ['llama-open']);
    assert.deepEqual(await ids(KEYS.unverified), ['llama-open', 'tiny-context']);
    assert.deepEqual(await ids(KEYS.globex), ['gated', 'globex-private', 'llama-open', 'tiny-context']);
  });
});

describe('credits and ledger', () => {
  test('a request is charged exactly its usage at the model price, with one ledger row', async () => {
    const before = await balance('acme');
    const { data, response } = await client(KEYS.acme).chat.completions.create(ask('llama-open')).withResponse();
    const cost = (data.usage!.prompt_tokens * PRICING.inputPerMTok + data.usage!.completion_tokens * PRICING.outputPerMTok) / 1e6;
    assert.ok(Math.abs(before - cost - (await balance('acme'))) < 1e-9, 'balance drops by the exact cost');
    await gw.settled();
    const row = await gw.store.usage.find(response.headers.get('x-request-id')!);
    assert.ok(row, 'ledger row under the request id');
    assert.equal(row.account_id, 'acme');
    assert.equal(row.model, 'llama-open');
    assert.equal(row.input_tokens, data.usage!.prompt_tokens);
    assert.equal(row.output_tokens, 5);
    assert.equal(Number(row.cost_nanos), Math.round(cost * 1e9));
    assert.equal(row.status, 200);
  });

  test('a streamed request is charged its usage too', async () => {
    const before = await balance('acme');
    const stream = await client(KEYS.acme).chat.completions.create({ ...ask('llama-open'), stream: true, stream_options: { include_usage: true } });
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const c of stream) if (c.usage) usage = c.usage;
    const cost = (usage!.prompt_tokens * PRICING.inputPerMTok + usage!.completion_tokens * PRICING.outputPerMTok) / 1e6;
    assert.ok(Math.abs(before - cost - (await balance('acme'))) < 1e-9);
  });

  test('a request that fails before any output costs nothing and leaves no ledger row', async () => {
    const before = await balance('acme');
    const { response } = await client(KEYS.acme).chat.completions.create(ask('llama-open'), { headers: { 'x-sluice-fault': 'crash' } }).withResponse().catch((e: InstanceType<typeof OpenAI.APIError>) => ({ response: { headers: e.headers! } }));
    assert.equal(await balance('acme'), before);
    await gw.settled();
    assert.equal(await gw.store.usage.find(response.headers.get('x-request-id')!), undefined, 'the ledger holds what was served');
  });

  test('many parallel requests cannot overdraw a small balance', async () => {
    const probe = await client(KEYS.acme).chat.completions.create(ask('llama-open'));
    const perRequest = (probe.usage!.prompt_tokens * PRICING.inputPerMTok + 5 * PRICING.outputPerMTok) / 1e6;
    assert.equal((await admin('/accounts', { method: 'POST', body: JSON.stringify({ id: 'race', credits: perRequest * 5 }) })).status, 201);
    const key = (await admin('/accounts/race/keys', { method: 'POST', body: '{}' })).body.key as string;
    const results = await Promise.allSettled(Array.from({ length: 30 }, () => client(key).chat.completions.create(ask('llama-open'))));
    const ok = results.filter((r) => r.status === 'fulfilled').length;
    const refused = results.filter((r) => r.status === 'rejected' && (r.reason as InstanceType<typeof OpenAI.APIError>).code === 'insufficient_credits').length;
    // Reservations may overestimate the prompt (a byte bound) until settled: never more than the
    // balance covers, possibly fewer at the very edge.
    assert.ok(ok >= 1 && ok <= 5, `${ok} served`);
    assert.equal(ok + refused, 30);
    const left = await balance('race');
    assert.ok(left >= 0, 'never negative');
    assert.ok(Math.abs(left - perRequest * (5 - ok)) < 1e-9, 'charged exactly the served requests');
  });

  test('usage totals per account', async () => {
    const u = await admin('/usage?account=race');
    assert.equal(u.status, 200);
    // Refused requests were never admitted: every row is a served one with 5 output tokens.
    assert.ok(u.body.totals.requests >= 1 && u.body.totals.requests <= 5);
    assert.equal(u.body.totals.outputTokens, 5 * u.body.totals.requests);
    assert.equal(u.body.days.length, 1);
  });
});
