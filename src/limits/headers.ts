// OpenAI's rate-limit headers, on every response to a limited key: for each kind of limit it has
// (requests, tokens), the limit, what remains and when it is full again. When several limits of
// one kind apply (key, account, model), the one with the least left is the one that binds.
import type { LimitCheck, Verdict } from './gcra.js';

/** OpenAI's (Go's) duration format: `20ms`, `1s`, `1.5s`, `6m0s`. */
export function goDuration(ms: number): string {
  const whole = Math.max(0, Math.ceil(ms));
  if (whole === 0) return '0s';
  if (whole < 1000) return `${whole}ms`;
  const minutes = Math.floor(whole / 60_000);
  const seconds = `${Number(((whole % 60_000) / 1000).toFixed(3))}s`;
  return minutes > 0 ? `${minutes}m${seconds}` : seconds;
}

export function rateLimitHeaders(checks: readonly LimitCheck[], verdicts: readonly Verdict[]): Array<[string, string]> {
  const headers: Array<[string, string]> = [];
  for (const kind of ['requests', 'tokens'] as const) {
    let binding = -1;
    for (let i = 0; i < checks.length; i++) {
      if (checks[i]!.kind !== kind) continue;
      if (binding < 0 || verdicts[i]!.remaining < verdicts[binding]!.remaining) binding = i;
    }
    if (binding < 0) continue;
    const v = verdicts[binding]!;
    headers.push(
      [`x-ratelimit-limit-${kind}`, String(checks[binding]!.perMinute)],
      [`x-ratelimit-remaining-${kind}`, String(v.remaining)],
      [`x-ratelimit-reset-${kind}`, goDuration(v.resetMs)],
    );
  }
  return headers;
}
