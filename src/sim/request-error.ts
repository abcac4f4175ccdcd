// Its own module so the parts of a plan (tool calls, logprobs) can refuse a request without
// importing the core that imports them.

/** A request the simulated engine refuses, as vLLM would with a 400. */
export class SimRequestError extends Error {
  constructor(message: string, readonly param: string | null) {
    super(message);
  }
}
