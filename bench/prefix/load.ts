// A run's load: every conversation starts at its planned moment (open loop: starts do not wait
// for earlier conversations) and then runs closed loop (conversation.ts). The run ends when the
// last conversation has, or at the deadline, when what is still in flight is given up.
import { setMaxListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent } from 'undici';
import { runConversation, type Turn } from './conversation.js';
import type { ConversationPlan } from './workload.js';

export interface LoadResult {
  turns: Turn[];
  /** From the run's start to the end of its last request. */
  elapsedMs: number;
  /** Conversation starts that left over 10 ms late (the load generator short of CPU). */
  lateStarts: number;
}

const LATE_MS = 10;

export async function runConversations(plans: readonly ConversationPlan[], gatewayOrigin: string, apiKey: string, model: () => string, deadlineSeconds: number): Promise<LoadResult> {
  // A connection per request in flight, as separate users would have.
  const dispatcher = new Agent({ connections: null, headersTimeout: 0, bodyTimeout: 0 });
  const giveUp = new AbortController();
  // Every conversation listens to it: dozens at once, by design.
  setMaxListeners(0, giveUp.signal);
  const target = { url: `${gatewayOrigin}/v1/chat/completions`, apiKey, dispatcher, signal: giveUp.signal, model };
  const deadline = setTimeout(() => giveUp.abort(), deadlineSeconds * 1000);
  const start = performance.now();
  let end = start;
  let lateStarts = 0;
  const running: Array<Promise<Turn[]>> = [];
  try {
    for (const p of plans) {
      const wait = start + p.startMs - performance.now();
      if (wait >= 1) await sleep(wait);
      if (performance.now() - start - p.startMs > LATE_MS) lateStarts++;
      running.push(runConversation(p, target).then((turns) => {
        end = Math.max(end, performance.now());
        return turns;
      }));
    }
    const turns = (await Promise.all(running)).flat();
    return { turns, elapsedMs: end - start, lateStarts };
  } finally {
    clearTimeout(deadline);
    giveUp.abort();
    await dispatcher.destroy().catch(() => undefined);
  }
}
