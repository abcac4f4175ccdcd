// First start of the embedded default: a local postpaid account and one key, so the README's
// example works at once. The key is returned (for printing once) and only its hash is stored.
import type { NewApiKey, Store } from '../store/store.js';
import { generateKey } from './key-format.js';

export const LOCAL_ACCOUNT = 'local';

export type KeyOptions = Partial<Omit<NewApiKey, 'id' | 'accountId' | 'keyHash'>>;

/** Creates a key (and, for the CLI's convenience, its account when missing). */
export async function createKeyFor(store: Store, accountId: string, opts: KeyOptions = {}): Promise<{ id: string; key: string }> {
  if (!(await store.accounts.get(accountId))) await store.accounts.create({ id: accountId });
  const k = generateKey();
  await store.keys.create({ ...opts, id: k.id, accountId, keyHash: k.hash });
  return { id: k.id, key: k.key };
}

/** Returns the new key when the store had none, otherwise undefined. */
export async function bootstrapFirstKey(store: Store): Promise<{ id: string; key: string } | undefined> {
  if ((await store.keys.count()) > 0) return undefined;
  return createKeyFor(store, LOCAL_ACCOUNT, { name: 'first key' });
}
