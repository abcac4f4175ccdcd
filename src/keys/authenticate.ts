// Resolves a bearer token to its key and account. Lookups are cached for `ttlMs` (positive and
// negative answers alike), so a revoked key stops working within that staleness and a flood of
// bad keys does not reach the database.
import { LRUCache } from 'lru-cache';
import { GatewayError } from '../errors/gateway-error.js';
import type { Account, ApiKeyRecord, Store } from '../store/store.js';
import { bearerToken } from './bearer.js';
import { hashKey, hashesEqual, keyIdOf, looksLikeSluiceKey } from './key-format.js';

export interface Principal {
  key: ApiKeyRecord;
  account: Account;
}

type Lookup = { principal: Principal } | { missing: true };

export interface Authenticator {
  authenticate(authorization: string | undefined, now?: number): Promise<Principal>;
  /** Forgets every cached lookup (after an admin change on this replica). */
  invalidate(): void;
}

/** last_used_at is written at most this often per key, off the request path. */
const TOUCH_EVERY_MS = 60_000;

const MAX_KEY_LENGTH = 256;

export function createAuthenticator(store: Store, opts: { ttlMs: number; maxEntries?: number }): Authenticator {
  // lru-cache reads ttl 0 as "never expires"; a zero staleness means no cache at all.
  const cache = opts.ttlMs > 0 ? new LRUCache<string, Lookup>({ max: opts.maxEntries ?? 10_000, ttl: opts.ttlMs }) : undefined;

  async function lookup(token: string, hash: string): Promise<Lookup> {
    const id = keyIdOf(token);
    const key = id !== undefined ? await store.keys.findById(id) : await store.keys.findByHash(hash);
    if (!key || !hashesEqual(key.keyHash, hash)) return { missing: true };
    const account = await store.accounts.get(key.accountId);
    return account ? { principal: { key, account } } : { missing: true };
  }

  const touched = new LRUCache<string, number>({ max: 10_000 });
  function touch(keyId: string, now: number): void {
    const last = touched.get(keyId);
    if (last !== undefined && now - last < TOUCH_EVERY_MS) return;
    touched.set(keyId, now);
    store.keys.touch(keyId, new Date(now).toISOString()).catch(() => touched.delete(keyId));
  }

  return {
    invalidate: () => cache?.clear(),
    async authenticate(authorization, now = Date.now()) {
      if (!authorization) throw new GatewayError('missing_api_key');
      const token = bearerToken(authorization);
      if (!token) {
        throw new GatewayError('invalid_api_key', { message: 'The Authorization header must be `Bearer <key>`.' });
      }
      if (token.length > MAX_KEY_LENGTH || (looksLikeSluiceKey(token) && keyIdOf(token) === undefined)) {
        throw new GatewayError('invalid_api_key', { message: 'The API key is malformed.' });
      }
      const hash = hashKey(token);
      let found = cache?.get(hash);
      if (!found) {
        try {
          found = await lookup(token, hash);
        } catch (cause) {
          throw new GatewayError('dependency_unavailable', { message: 'The key store is unavailable.', cause });
        }
        cache?.set(hash, found);
      }
      if ('missing' in found) throw new GatewayError('invalid_api_key');
      const { key } = found.principal;
      if (key.revokedAt !== null) throw new GatewayError('revoked_api_key');
      if (key.expiresAt !== null && Date.parse(key.expiresAt) <= now) throw new GatewayError('expired_api_key');
      touch(key.id, now);
      return found.principal;
    },
  };
}
