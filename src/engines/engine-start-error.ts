// An engine that could not get ready at start (Engine.start): the gateway does not start, and
// `sluice serve` prints this message alone (it says what to fix), not a stack.
export class EngineStartError extends Error {
  constructor(message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'EngineStartError';
  }
}
