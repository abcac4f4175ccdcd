// Model settings for tests about one attempt: no retries, and a circuit that never opens, so a
// test that sends fault after fault to one deployment sees each fault's own mapping.
export const SINGLE_ATTEMPT = {
  retries: { maxAttempts: 1 },
  circuitBreaker: { consecutiveFailures: 1000, minRequests: 100_000 },
} as const;
