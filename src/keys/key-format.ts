// API key format: `sk-sluice-<id>_<secret>`. The id (10 chars) is the short visible handle shown
// in listings and logs; the secret never leaves the response that created it. Only a SHA-256 hash
// of the whole key is stored: keys are 192-bit random, so a slow hash would add latency and no
// safety.
import { hash, randomBytes, timingSafeEqual } from 'node:crypto';

const PREFIX = 'sk-sluice-';
const FORMAT = /^sk-sluice-([a-z0-9]{10})_([0-9a-f]{48})$/;
const ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

export interface NewKey {
  id: string;
  key: string;
  hash: string;
}

export function hashKey(key: string): string {
  // One-shot hash: a third of createHash's cost, and it runs on every request.
  return hash('sha256', key, 'hex');
}

function randomId(): string {
  const bytes = randomBytes(10);
  let id = '';
  for (const b of bytes) id += ID_ALPHABET[b % ID_ALPHABET.length];
  return id;
}

export function generateKey(): NewKey {
  const id = randomId();
  const key = `${PREFIX}${id}_${randomBytes(24).toString('hex')}`;
  return { id, key, hash: hashKey(key) };
}

/** The visible id of a key in Sluice's own format, or undefined for an imported key. */
export function keyIdOf(key: string): string | undefined {
  return FORMAT.exec(key)?.[1];
}

export function looksLikeSluiceKey(key: string): boolean {
  return key.startsWith(PREFIX);
}

/** Constant-time comparison of two hex SHA-256 digests. */
export function hashesEqual(a: string, b: string): boolean {
  const ba = Buffer.from(a, 'hex');
  const bb = Buffer.from(b, 'hex');
  return ba.length === bb.length && timingSafeEqual(ba, bb);
}
