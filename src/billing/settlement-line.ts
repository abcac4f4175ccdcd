// One settlement as one line of the ledger journal: a JSON array in a fixed order. Writing and
// reading it costs about half of the object form (no key names), and it is written once per
// request on the request path. Lines of the object form, written by earlier versions, still read.
import type { Settlement } from '../store/billing-repo.js';

/** The first element of every line: the layout below. */
const LAYOUT = 1;

export function encodeSettlement(s: Settlement): string {
  const r = s.reservation;
  const l = s.ledger;
  return JSON.stringify([
    LAYOUT, l.request_id, l.account_id, l.key_id, l.model, l.deployment, l.endpoint, l.status, l.error_code,
    l.input_tokens, l.output_tokens, l.started_at, l.duration_ms, l.first_byte_ms, s.costNanos,
    r.period, r.amountNanos, r.prepaid, r.accountCapNanos, r.keyCapNanos, r.lease ?? null,
  ]);
}

/** The settlement of one line; throws on a line that is not one (a torn last line). */
export function decodeSettlement(line: string): Settlement {
  const v = JSON.parse(line) as unknown;
  if (!Array.isArray(v)) {
    if (typeof v !== 'object' || v === null || !('ledger' in v)) throw new Error('not a settlement');
    return v as Settlement;
  }
  if (v[0] !== LAYOUT || v.length !== 21) throw new Error('not a settlement line');
  const [, request_id, account_id, key_id, model, deployment, endpoint, status, error_code, input_tokens, output_tokens, started_at, duration_ms, first_byte_ms, costNanos, period, amountNanos, prepaid, accountCapNanos, keyCapNanos, lease] = v;
  const reservation = { accountId: account_id, keyId: key_id, period, amountNanos, prepaid, accountCapNanos, keyCapNanos, ...(lease === null ? {} : { lease }) };
  return {
    reservation,
    costNanos,
    ledger: { request_id, account_id, key_id, model, deployment, endpoint, status, error_code, input_tokens, output_tokens, started_at, duration_ms, first_byte_ms },
  } as Settlement;
}
