// First start of the embedded default: a local postpaid account and one key, so the README's
// example works at once. The key is returned (for printing once) and only its hash is stored.
import type { Store } from '../store/store.js';
import { generateKey } from './key-format.js';

export const LOCAL_ACCOUNT = 'local';

export async function createKeyFor(store: Store, accountId: string, name: string | null = null): Promise<{ id: string; key: string }> {
  if (!(await store.getAccount(accountId))) await store.createAccount({ id: accountId });
  const k = generateKey();
  await store.createKey({ id: k.id, accountId, keyHash: k.hash, name });
  return { id: k.id, key: k.key };
}

/** Returns the new key when the store had none, otherwise undefined. */
export async function bootstrapFirstKey(store: Store): Promise<{ id: string; key: string } | undefined> {
  if ((await store.countKeys()) > 0) return undefined;
  return createKeyFor(store, LOCAL_ACCOUNT, 'first key');
}
