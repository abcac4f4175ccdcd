// API keys: stored hashed, recognisable, compared in constant time, and each 401 case.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAuthenticator } from '../src/keys/authenticate.js';
import { generateKey, hashKey, hashesEqual, keyIdOf } from '../src/keys/key-format.js';
import { createKeyFor } from '../src/keys/bootstrap.js';
import { openStore } from '../src/store/open.js';
import type { Store } from '../src/store/store.js';
import { GatewayError } from '../src/errors/gateway-error.js';

let store: Store;
let dbFile: string;
before(async () => {
  dbFile = join(mkdtempSync(join(tmpdir(), 'sluice-keys-')), 'k.db');
  store = await openStore(`sqlite://${dbFile}`);
});
after(() => store.close());

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    assert.ok(err instanceof GatewayError, String(err));
    return err.code;
  }
}

test('keys have a prefix and a short visible id, and only the hash is stored', async () => {
  const { id, key } = await createKeyFor(store, 'acct');
  assert.match(key, /^sk-sluice-[a-z0-9]{10}_[0-9a-f]{48}$/);
  assert.equal(keyIdOf(key), id);
  const rec = await store.keys.findById(id);
  assert.equal(rec!.keyHash, hashKey(key));
  assert.notEqual(rec!.keyHash, key);
  // The secret appears nowhere in the database file.
  assert.ok(!readFileSync(dbFile).includes(Buffer.from(key.split('_')[1]!)), 'secret not in the db file');
});

test('generated keys are unique', () => {
  const keys = new Set(Array.from({ length: 1000 }, () => generateKey().key));
  assert.equal(keys.size, 1000);
});

test('hash comparison is constant-time and exact', () => {
  const a = hashKey('a'), b = hashKey('b');
  assert.ok(hashesEqual(a, a));
  assert.ok(!hashesEqual(a, b));
  assert.ok(!hashesEqual(a, a.slice(0, 10)));
});

test('authenticate: valid, missing, malformed, unknown, revoked, expired', async () => {
  const auth = createAuthenticator(store, { ttlMs: 0 });
  const { id, key } = await createKeyFor(store, 'acct');
  assert.equal((await auth.authenticate(`Bearer ${key}`)).key.id, id);
  assert.equal((await auth.authenticate(`bearer  ${key}`)).account.id, 'acct');
  assert.equal(await code(auth.authenticate(undefined)), 'missing_api_key');
  assert.equal(await code(auth.authenticate('Bearer')), 'invalid_api_key');
  assert.equal(await code(auth.authenticate(`Token ${key}`)), 'invalid_api_key');
  assert.equal(await code(auth.authenticate(`Bearer ${key}x`)), 'invalid_api_key');
  assert.equal(await code(auth.authenticate(`Bearer ${generateKey().key}`)), 'invalid_api_key');
  // Right id, wrong secret: found by id, rejected by the hash comparison.
  assert.equal(await code(auth.authenticate(`Bearer ${key.slice(0, -1)}${key.endsWith('0') ? '1' : '0'}`)), 'invalid_api_key');
  await store.keys.revoke(id);
  assert.equal(await code(auth.authenticate(`Bearer ${key}`)), 'revoked_api_key');
  const exp = generateKey();
  await store.keys.create({ id: exp.id, accountId: 'acct', keyHash: exp.hash, expiresAt: new Date(Date.now() - 1000).toISOString() });
  assert.equal(await code(auth.authenticate(`Bearer ${exp.key}`)), 'expired_api_key');
});

test('an imported key of any format (20+ chars) is found by its hash', async () => {
  const imported = 'my-own-provider-key-1234567890';
  await store.keys.create({ id: 'imported01', accountId: 'acct', keyHash: hashKey(imported) });
  const auth = createAuthenticator(store, { ttlMs: 0 });
  assert.equal((await auth.authenticate(`Bearer ${imported}`)).key.id, 'imported01');
});

test('lookups are cached for the TTL: a revoked key stops working once it expires', async () => {
  const auth = createAuthenticator(store, { ttlMs: 150 });
  const { id, key } = await createKeyFor(store, 'acct');
  await auth.authenticate(`Bearer ${key}`);
  await store.keys.revoke(id);
  assert.equal(await code(auth.authenticate(`Bearer ${key}`)), 'ok', 'served from cache within the TTL');
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(await code(auth.authenticate(`Bearer ${key}`)), 'revoked_api_key');
});

test('a store failure during auth is 503 dependency_unavailable, not 500', async () => {
  const broken = await openStore(`sqlite://${join(mkdtempSync(join(tmpdir(), 'sluice-keys-')), 'b.db')}`);
  const auth = createAuthenticator(broken, { ttlMs: 0 });
  await broken.close();
  assert.equal(await code(auth.authenticate(`Bearer ${generateKey().key}`)), 'dependency_unavailable');
});
