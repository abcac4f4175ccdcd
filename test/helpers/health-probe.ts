// Measures how long /health takes to answer while something else runs: a stalled event loop in
// the gateway shows up as a slow probe. Sequential GETs on one kept-alive connection.
import { Agent, request } from 'node:http';

export interface HealthProbe {
  /** Stops probing; the slowest answers seen, slowest first, in ms. */
  stop(): Promise<number[]>;
}

export function probeHealth(url: string, everyMs = 5): HealthProbe {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const times: number[] = [];
  let running = true;
  const once = () => new Promise<number>((resolve, reject) => {
    const t0 = performance.now();
    request(`${url}/health`, { agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(performance.now() - t0));
    }).on('error', reject).end();
  });
  const loop = (async () => {
    while (running) {
      times.push(await once());
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      agent.destroy();
      return times.sort((a, b) => b - a).slice(0, 5);
    },
  };
}
