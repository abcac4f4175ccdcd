// The long-chat rows: what prefix-aware routing costs per request. An agent-like request (system
// prompt, two tool definitions, a few turns with a tool call and its result: ~6 KB of prompt, ~24
// of the router's 256-byte blocks) sent to two models that differ only in routing policy,
// each with two deployments on the same fake engine. The gateway hashes the prompt into blocks
// and looks them up in its prefix index only on the prefix-aware model, so the two rows' gateway
// numbers, same run, same body, differ by that work alone; `prefixHashMicros` times the hashing
// by itself, in this process, as a second view of the same cost.
import { prefixBlocks } from '../src/routing/prefix-blocks.js';

export const PREFIX_AWARE_MODEL = 'bench-prefix-aware';
export const LEAST_LOADED_MODEL = 'bench-least-loaded';

/** Deterministic filler prose: the same bytes every run (no randomness in a benchmark's input). */
function prose(words: number, seed: number): string {
  const vocab = ['the', 'request', 'gateway', 'engine', 'token', 'cache', 'prefix', 'deployment', 'latency', 'queue', 'account', 'model', 'stream', 'answer', 'budget', 'retry', 'health', 'limit', 'prompt', 'block'];
  const out: string[] = [];
  let x = seed;
  for (let i = 0; i < words; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    out.push(vocab[(x >>> 16) % vocab.length]!);
  }
  return `${out.join(' ')}.`;
}

const tools = [
  {
    type: 'function',
    function: {
      name: 'search_tickets',
      description: `Search the support tracker. ${prose(40, 1)}`,
      parameters: { type: 'object', properties: { query: { type: 'string', description: prose(12, 2) }, limit: { type: 'integer', minimum: 1, maximum: 50 } }, required: ['query'] },
    },
  },
  {
    type: 'function',
    function: {
      name: 'read_runbook',
      description: `Read a runbook section. ${prose(40, 3)}`,
      parameters: { type: 'object', properties: { section: { type: 'string', description: prose(12, 4) } }, required: ['section'] },
    },
  },
];

const messages = [
  { role: 'system', content: `You are the on-call assistant for an inference platform. ${prose(220, 5)}` },
  { role: 'user', content: `Why did latency jump on the chat models this morning? ${prose(60, 6)}` },
  { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'search_tickets', arguments: '{"query":"latency chat models","limit":5}' } }] },
  { role: 'tool', tool_call_id: 'call_1', content: prose(260, 7) },
  { role: 'assistant', content: prose(80, 8) },
  { role: 'user', content: `And what should we change in the routing settings? ${prose(40, 9)}` },
];

function body(model: string): Record<string, unknown> {
  return { model, messages, tools, max_tokens: 16 };
}

export const LONG_PREFIX_AWARE_BODY = JSON.stringify(body(PREFIX_AWARE_MODEL));
export const LONG_LEAST_LOADED_BODY = JSON.stringify(body(LEAST_LOADED_MODEL));

/** Microseconds per prefixBlocks() call on the long chat body (median of 5 batches of 2,000). */
export function prefixHashMicros(): { micros: number; blocks: number; bytes: number } {
  const parsed = JSON.parse(LONG_PREFIX_AWARE_BODY) as Record<string, unknown>;
  let blocks = 0;
  for (let i = 0; i < 500; i++) blocks = prefixBlocks(parsed, 'chat').blocks.length; // warm-up: let the JIT settle
  const batches: number[] = [];
  for (let b = 0; b < 5; b++) {
    const t = performance.now();
    for (let i = 0; i < 2_000; i++) prefixBlocks(parsed, 'chat');
    batches.push(((performance.now() - t) * 1000) / 2_000);
  }
  batches.sort((a, c) => a - c);
  return { micros: batches[2]!, blocks, bytes: Buffer.byteLength(LONG_PREFIX_AWARE_BODY) };
}
