// Open-loop load: every request is sent at its scheduled moment whether or not earlier ones have
// finished, as independent users do (a closed loop would slow its own arrivals when the server
// slows, and hide the overload). Requests still unfinished `graceSeconds` after the last arrival
// are given up: the backlog without admission would otherwise take as long again to drain.
import { setMaxListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent } from 'undici';
import type { Priority } from '../../src/store/keys-repo.js';
import { MODEL } from './gateway-config.js';
import { streamRequest, type Outcome } from './stream-request.js';
import { requestBody, type Arrival } from './workload.js';

export interface Sent<A extends Arrival = Arrival> extends Outcome {
  priority: Priority;
  /** How late the request left against its schedule (the load generator's own lag). */
  lateMs: number;
  /** The schedule's entry it was sent for. */
  arrival: A;
}

export interface OpenLoopResult<A extends Arrival = Arrival> {
  sent: Array<Sent<A>>;
  /** From the first scheduled arrival to the moment the last request ended or was given up. */
  elapsedMs: number;
}

/** The overload benchmark's request: streamed, to its model. */
const overloadBody = (a: Arrival) => requestBody(MODEL, a.maxTokens);

/** `bodyOf` turns an arrival into the request's body (another model, or not streamed). */
export async function runOpenLoop<A extends Arrival>(origin: string, keys: Record<Priority, string>, schedule: readonly A[], windowSeconds: number, graceSeconds: number, bodyOf: (a: A) => string = overloadBody): Promise<OpenLoopResult<A>> {
  // No connection cap: each request in flight gets its own connection, as separate users would.
  const dispatcher = new Agent({ connections: null, headersTimeout: 0, bodyTimeout: 0 });
  const giveUp = new AbortController();
  // Every request in flight listens to it: hundreds at once, by design.
  setMaxListeners(0, giveUp.signal);
  const url = `${origin}/v1/chat/completions`;
  const start = performance.now();
  const pending: Array<Promise<Sent<A>>> = [];
  const deadline = setTimeout(() => giveUp.abort(), (windowSeconds + graceSeconds) * 1000);
  try {
    for (const a of schedule) {
      const wait = start + a.atMs - performance.now();
      if (wait >= 1) await sleep(wait);
      const lateMs = Math.max(0, performance.now() - start - a.atMs);
      pending.push(streamRequest({ dispatcher, url, apiKey: keys[a.priority], body: bodyOf(a), signal: giveUp.signal }).then((o) => ({ ...o, priority: a.priority, lateMs, arrival: a })));
    }
    const sent = await Promise.all(pending);
    return { sent, elapsedMs: performance.now() - start };
  } finally {
    clearTimeout(deadline);
    giveUp.abort();
    await dispatcher.destroy().catch(() => undefined);
  }
}
