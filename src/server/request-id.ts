import { randomUUID } from 'node:crypto';

/** `req_` + 32 hex chars: unique, unguessable, and easy to grep for in logs. */
export function newRequestId(): string {
  return `req_${randomUUID().replaceAll('-', '')}`;
}
