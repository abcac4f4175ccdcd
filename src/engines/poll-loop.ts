// Runs a check of an engine (its metrics, its health) now and then every intervalMs: a chain of
// timers, not an interval, so a slow check never overlaps the next; unref'd, so a forgotten loop
// never keeps the process alive.
export interface PollLoop {
  stop(): void;
}

export function startPollLoop(run: () => Promise<void>, intervalMs: number, afterEach?: () => void): PollLoop {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const schedule = (delayMs: number) => {
    timer = setTimeout(() => {
      void run().finally(() => {
        if (stopped) return;
        afterEach?.();
        schedule(intervalMs);
      });
    }, delayMs);
    timer.unref();
  };
  schedule(0);
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
