// How loaded the engine was during a run, read from the simulator's own /metrics: vLLM's gauges
// sampled every 50 ms (what an operator's dashboard sees), and the simulator's exact high-water
// mark of requests held (sluice_sim_requests_peak), which no sampling interval can miss.
import { Client } from 'undici';
import { PEAK_METRIC } from '../../src/sim/sim-server.js';

export interface EngineLoad {
  /** Highest vllm:num_requests_running seen in a sample. */
  maxRunning: number;
  /** Highest vllm:num_requests_running + vllm:num_requests_waiting seen in a sample. */
  maxSampled: number;
  samples: number;
  /** Scrapes that failed (the exact peak does not depend on them). */
  failedSamples: number;
  /** Exact: the most requests running and waiting at once since the simulator started. */
  peak: number;
}

const INTERVAL_MS = 50;

/** The value of the first sample of `name` in a Prometheus text page (a gauge or a counter). */
export function gauge(text: string, name: string): number {
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
  if (!m) throw new Error(`the simulator's /metrics has no ${name}`);
  return Number(m[1]);
}

async function scrape(client: Client): Promise<string> {
  const res = await client.request({ path: '/metrics', method: 'GET' });
  return res.body.text();
}

/** Starts sampling; the returned function stops it and gives the run's numbers. */
export function watchEngine(engineOrigin: string): () => Promise<EngineLoad> {
  const client = new Client(engineOrigin, { headersTimeout: 5_000, bodyTimeout: 5_000 });
  const load: EngineLoad = { maxRunning: 0, maxSampled: 0, samples: 0, failedSamples: 0, peak: 0 };
  let inFlight = false;
  const timer = setInterval(() => {
    // A slow scrape is skipped over, not queued behind: samples stay ~50 ms apart in time.
    if (inFlight) return;
    inFlight = true;
    scrape(client).then((text) => {
      const running = gauge(text, 'vllm:num_requests_running');
      load.maxRunning = Math.max(load.maxRunning, running);
      load.maxSampled = Math.max(load.maxSampled, running + gauge(text, 'vllm:num_requests_waiting'));
      load.samples++;
    }, () => {
      load.failedSamples++;
    }).finally(() => {
      inFlight = false;
    });
  }, INTERVAL_MS);
  return async () => {
    clearInterval(timer);
    try {
      // The exact peak is read once at the end; a scrape failing then is a broken engine.
      load.peak = gauge(await scrape(client), PEAK_METRIC);
      return load;
    } finally {
      await client.close().catch(() => undefined);
    }
  };
}
