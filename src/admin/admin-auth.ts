// The admin API's own credential: a bearer token compared in constant time. API keys never work
// here, and without a configured token the admin API does not exist (404).
import { createHash, timingSafeEqual } from 'node:crypto';
import { GatewayError } from '../errors/gateway-error.js';
import { bearerToken } from '../keys/bearer.js';

const digest = (s: string) => createHash('sha256').update(s).digest();

export function createAdminAuth(token: string | undefined) {
  const expected = token ? digest(token) : undefined;
  return {
    enabled: expected !== undefined,
    check(authorization: string | undefined): void {
      if (!authorization) throw new GatewayError('missing_api_key', { message: 'The admin API needs `Authorization: Bearer <admin token>`.' });
      const presented = bearerToken(authorization);
      // Hashing first makes the comparison length-independent as well as constant-time.
      if (!presented || !expected || !timingSafeEqual(digest(presented), expected)) {
        throw new GatewayError('invalid_api_key', { message: 'The admin token is not valid.' });
      }
    },
  };
}
