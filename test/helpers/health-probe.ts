// Measures how long /health takes to answer while something else runs: a stalled event loop in
// the gateway shows up as a slow probe. The probe runs in a child process (health-probe-child.ts).
import { fork } from 'node:child_process';

export interface HealthProbe {
  /** Stops probing; the slowest answers seen, slowest first, in ms. */
  stop(): Promise<number[]>;
}

export async function probeHealth(url: string, everyMs = 5): Promise<HealthProbe> {
  const child = fork(new URL('./health-probe-child.js', import.meta.url), [url, String(everyMs)], { stdio: 'ignore' });
  let ready!: () => void;
  const started = new Promise<void>((resolve) => (ready = resolve));
  const result = new Promise<{ slowest: number[]; count: number }>((resolve, reject) => {
    child.on('message', (m) => (m === 'ready' ? ready() : resolve(m as { slowest: number[]; count: number })));
    child.once('exit', (code) => reject(new Error(`the health probe exited (${code}) without a result`)));
  });
  result.catch(() => {}); // seen by stop(); never an unhandled rejection in between
  // The first answer is in before the measured work begins.
  await Promise.race([started, result]);
  return {
    async stop() {
      child.send('stop');
      const { slowest, count } = await result;
      if (count === 0) throw new Error('the health probe made no request');
      return slowest;
    },
  };
}
