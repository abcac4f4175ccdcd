// What is measured, declared once: the load scenarios and the report rows they fill.
import { LONG_LEAST_LOADED_BODY, LONG_PREFIX_AWARE_BODY } from './long-chat.js';
import { MetricSet } from './metrics.js';
import { isCompleteResponsesStream, isCompleteStream, isJsonAnswer, isResponsesAnswer, JSON_BODY, RESPONSES_BODY, RESPONSES_STREAM_BODY, STREAM_BODY, STREAM_CHUNKS } from './requests.js';

export interface LoadScenario {
  id: string;
  label: string;
  group: string;
  body: string;
  connections: number;
  verify: (body: string) => boolean;
  /**
   * Rate-limited runs: the gateway is reached with the rate-limited key, its limits in the
   * gateway's memory or (a second gateway) in Redis. Only proxy and gateway run them: the proxy
   * is the baseline of the same moment, and direct would only repeat the unlimited rows.
   */
  limits?: 'memory' | 'redis';
  /**
   * Long-chat runs (long-chat.ts): a two-deployment model routed this way. Proxy and gateway only,
   * as for the rate-limited runs: the gateway's two rows differ only by the prefix-aware work.
   */
  routing?: 'prefix-aware' | 'least-loaded';
  /**
   * Responses API runs: the gateway is sent this body on /v1/responses (checked with
   * `responsesVerify`), the proxy `body` on chat completions, the same request in chat's terms
   * (the engine sees the same thing either way). Proxy and gateway only.
   */
  responses?: { body: string; verify: (body: string) => boolean };
}

const NON_STREAMING = 'Non-streaming';
const STREAMING = `Streaming (${STREAM_CHUNKS} chunks)`;
const LIMITED = 'Rate-limited key (non-streaming)';
const LONG_CHAT = 'Long agent chat, ~6 KB prompt, two deployments (non-streaming)';
const RESPONSES = 'Responses API (gateway /v1/responses; proxy: the same request as chat completions)';
const MEMORY = 'Memory';

export const LOAD_SCENARIOS: readonly LoadScenario[] = [
  { id: 'json_c1', label: 'non-streaming, 1 connection', group: NON_STREAMING, body: JSON_BODY, connections: 1, verify: isJsonAnswer },
  { id: 'json_c50', label: 'non-streaming, 50 connections', group: NON_STREAMING, body: JSON_BODY, connections: 50, verify: isJsonAnswer },
  { id: 'stream_c1', label: 'streaming, 1 connection', group: STREAMING, body: STREAM_BODY, connections: 1, verify: isCompleteStream },
  { id: 'stream_c50', label: 'streaming, 50 connections', group: STREAMING, body: STREAM_BODY, connections: 50, verify: isCompleteStream },
  { id: 'rl_memory_c50', label: 'limits in memory, 50 connections', group: LIMITED, body: JSON_BODY, connections: 50, verify: isJsonAnswer, limits: 'memory' },
  { id: 'rl_redis_c1', label: 'limits in Redis, 1 connection', group: LIMITED, body: JSON_BODY, connections: 1, verify: isJsonAnswer, limits: 'redis' },
  { id: 'rl_redis_c50', label: 'limits in Redis, 50 connections', group: LIMITED, body: JSON_BODY, connections: 50, verify: isJsonAnswer, limits: 'redis' },
  { id: 'responses_json_c50', label: 'responses, 50 connections', group: RESPONSES, body: JSON_BODY, connections: 50, verify: isJsonAnswer, responses: { body: RESPONSES_BODY, verify: isResponsesAnswer } },
  { id: 'responses_stream_c50', label: 'responses streamed, 50 connections', group: RESPONSES, body: STREAM_BODY, connections: 50, verify: isCompleteStream, responses: { body: RESPONSES_STREAM_BODY, verify: isCompleteResponsesStream } },
  { id: 'long_ll_c50', label: 'least-loaded, 50 connections', group: LONG_CHAT, body: LONG_LEAST_LOADED_BODY, connections: 50, verify: isJsonAnswer, routing: 'least-loaded' },
  { id: 'long_pa_c50', label: 'prefix-aware, 50 connections', group: LONG_CHAT, body: LONG_PREFIX_AWARE_BODY, connections: 50, verify: isJsonAnswer, routing: 'prefix-aware' },
];

/** The report's rows, in order. Load scenarios fill `<id>_rps`, `<id>_p50`, `<id>_p99`. */
export function defineMetrics(memoryStreams: number): MetricSet {
  const set = new MetricSet();
  for (const s of LOAD_SCENARIOS) {
    const n = s.connections === 1 ? '1 conn' : `${s.connections} conn`;
    const what = s.responses ? (s.id.includes('stream') ? 'streams/s' : 'requests/s') : s.limits ? `requests/s, limits in ${s.limits === 'memory' ? 'memory' : 'Redis'}` : s.routing ? `requests/s, ${s.routing}` : s.group === STREAMING ? 'streams/s' : 'requests/s';
    set.define(`${s.id}_rps`, s.group, `${what}, ${n}`, 'req/s');
    set.define(`${s.id}_p50`, s.group, `p50 latency, ${n}`, 'ms');
    set.define(`${s.id}_p99`, s.group, `p99 latency, ${n}`, 'ms');
    if (s.id === 'stream_c1') {
      set.define('stream_ttfb_p50', s.group, 'p50 time to first byte, 1 conn', 'ms');
      set.define('stream_ttfb_p99', s.group, 'p99 time to first byte, 1 conn', 'ms');
    }
  }
  const n = memoryStreams.toLocaleString('en-US');
  set.define('memory_idle', MEMORY, 'RSS after start-up', 'MB');
  set.define('memory_peak', MEMORY, `peak RSS, ${n} open slow streams`, 'MB');
  set.define('memory_after_load', MEMORY, 'RSS after the load runs', 'MB');
  return set;
}
