// The two reference numbers the overload run is judged against, measured in the same run through
// the same gateway: time to first token on an idle system, and the engine's capacity.
import { setMaxListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent } from 'undici';
import { percentile } from '../stats.js';
import type { Priority } from '../../src/store/keys-repo.js';
import { MODEL } from './gateway-config.js';
import { streamRequest } from './stream-request.js';
import { lengthDrawer, requestBody } from './workload.js';

export interface IdleTtft {
  p50: number;
  p99: number;
  samples: number;
}

const CHAT = '/v1/chat/completions';

/**
 * Sequential requests, one at a time, so each finds the engine idle. One token each: the first
 * token's time does not depend on the answer's length (it is the prefill step's output).
 */
export async function measureIdleTtft(origin: string, apiKey: string, count: number, warmup: number): Promise<IdleTtft> {
  const dispatcher = new Agent({ connections: 1 });
  const signal = new AbortController().signal;
  const samples: number[] = [];
  try {
    for (let i = 0; i < warmup + count; i++) {
      const o = await streamRequest({ dispatcher, url: `${origin}${CHAT}`, apiKey, body: requestBody(MODEL, 1), signal });
      if (o.ending !== 'completed' || o.ttftMs === undefined) throw new Error(`idle request failed: ${o.status ?? 'no answer'} ${o.code ?? ''}`);
      if (i >= warmup) samples.push(o.ttftMs);
    }
  } finally {
    await dispatcher.close();
  }
  return { p50: percentile(samples, 50), p99: percentile(samples, 99), samples: samples.length };
}

export interface Capacity {
  /** Requests completed per second at concurrency C. */
  rps: number;
  /** Output tokens per second at concurrency C. */
  tokensPerS: number;
  completed: number;
  seconds: number;
}

/**
 * Closed loop at the engine's concurrency: `concurrency` clients, each sending its next request
 * the moment the last one ends, for warm-up + `seconds`. Completions in the measured window count.
 * This is the most the engine serves with the workload's answer lengths: what "2× capacity" means.
 * `model` names one the gateway serves from that engine alone (the failover benchmark's has two).
 */
export async function measureCapacity(origin: string, keys: Record<Priority, string>, concurrency: number, seconds: number, warmupSeconds: number, model = MODEL): Promise<Capacity> {
  const dispatcher = new Agent({ connections: concurrency });
  const signal = new AbortController().signal;
  // One listener per client in flight.
  setMaxListeners(0, signal);
  const nextLength = lengthDrawer();
  const start = performance.now();
  const from = start + warmupSeconds * 1000;
  const until = from + seconds * 1000;
  let completed = 0;
  let tokens = 0;
  // Started together, the clients would spend their fixed first-token time together while the
  // batch idles, and stay in step (a slot is refilled the moment it frees): throughput below what
  // the engine does under a steady queue. Starts spread over the first half of the warm-up
  // break that up, as independent arrivals do.
  const client = async (i: number) => {
    await sleep((i * warmupSeconds * 500) / concurrency);
    while (performance.now() < until) {
      const o = await streamRequest({ dispatcher, url: `${origin}${CHAT}`, apiKey: keys.standard, body: requestBody(model, nextLength()), signal });
      if (o.ending !== 'completed') throw new Error(`calibration request failed: ${o.status ?? 'no answer'} ${o.code ?? ''}`);
      const end = performance.now();
      if (end >= from && end < until) {
        completed++;
        tokens += o.tokens;
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: concurrency }, (_, i) => client(i)));
  } finally {
    await dispatcher.close();
  }
  if (completed === 0) throw new Error('calibration: no request completed');
  return { rps: completed / seconds, tokensPerS: tokens / seconds, completed, seconds };
}
