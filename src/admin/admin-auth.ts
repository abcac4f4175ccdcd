// The admin API's own credential: a bearer token compared in constant time. API keys never work
// here, and without a configured token the admin API does not exist (404).
import { GatewayError } from '../errors/gateway-error.js';
import { bearerToken } from '../keys/bearer.js';
import { hashKey, hashesEqual } from '../keys/key-format.js';

export function createAdminAuth(token: string | undefined) {
  const expected = token ? hashKey(token) : undefined;
  return {
    enabled: expected !== undefined,
    check(authorization: string | undefined): void {
      if (!authorization) throw new GatewayError('missing_api_key', { message: 'The admin API needs `Authorization: Bearer <admin token>`.' });
      const presented = bearerToken(authorization);
      // Hashing first makes the comparison length-independent as well as constant-time.
      if (!presented || !expected || !hashesEqual(hashKey(presented), expected)) {
        throw new GatewayError('invalid_api_key', { message: 'The admin token is not valid.' });
      }
    },
  };
}
