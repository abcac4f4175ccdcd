// `sluice sim` flags, end to end: the command runs as a child process and each check is made over
// HTTP, so a flag that parsed but never reached the simulator fails here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { request } from 'undici';

const cli = new URL('../src/cli/main.js', import.meta.url).pathname;

interface SimChild {
  child: ChildProcess;
  /** e.g. http://127.0.0.1:PORT/v1 */
  url: string;
  origin: string;
}

async function startSim(flags: string[]): Promise<SimChild> {
  const child = spawn(process.execPath, [cli, 'sim', '--port', '0', ...flags], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`sim did not start:\n${out}`)), 10_000);
      child.stdout!.on('data', () => {
        const m = /sluice sim listening on (http:\/\/\S+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      });
      child.once('exit', (code) => reject(new Error(`sim exited ${code}:\n${out}`)));
    });
    return { child, url, origin: new URL(url).origin };
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
}

function stop(sim: SimChild | undefined): void {
  if (sim && sim.child.exitCode === null && sim.child.signalCode === null) sim.child.kill('SIGKILL');
}

function chat(sim: SimChild, extra: Record<string, unknown> = {}, signal?: AbortSignal) {
  return request(`${sim.url}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'any', messages: [{ role: 'user', content: 'hi' }], ...extra }),
    signal,
  });
}

async function gauge(sim: SimChild, name: string): Promise<number> {
  const text = await (await request(`${sim.origin}/metrics`)).body.text();
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
  assert.ok(m, `${name} not in /metrics:\n${text}`);
  return Number(m[1]);
}

/** Polls until the gauge reads `want` (the engine takes a request a moment after it is sent). */
async function gaugeReaches(sim: SimChild, name: string, want: number): Promise<void> {
  const deadline = Date.now() + 3_000;
  let last = Number.NaN;
  while (Date.now() < deadline) {
    last = await gauge(sim, name);
    if (last === want) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.fail(`${name} stayed at ${last}, expected ${want}`);
}

test('--max-num-seqs 1 --max-queue 0: a second concurrent request gets the engine\'s 503', async () => {
  let sim: SimChild | undefined;
  const abort = new AbortController();
  try {
    // A long answer keeps the first request in its slot while the second arrives.
    sim = await startSim(['--max-num-seqs', '1', '--max-queue', '0', '--itl-ms', '50', '--output-tokens', '100-100']);
    const first = await chat(sim, { stream: true }, abort.signal);
    assert.equal(first.statusCode, 200);
    await gaugeReaches(sim, 'vllm:num_requests_running', 1);
    const second = await chat(sim);
    const body = await second.body.text();
    assert.equal(second.statusCode, 503, body);
    assert.match(body, /engine queue is full/);
    // The refused request never counted as held by the engine.
    assert.equal(await gauge(sim, 'sluice_sim_requests_peak'), 1);
    abort.abort();
    await first.body.dump().catch(() => undefined);
  } finally {
    abort.abort();
    stop(sim);
  }
});

test('--max-num-seqs 2 --max-queue 5: two run, the third waits, and the peak counts all three', async () => {
  let sim: SimChild | undefined;
  const abort = new AbortController();
  try {
    sim = await startSim(['--max-num-seqs', '2', '--max-queue', '5', '--itl-ms', '50', '--output-tokens', '100-100']);
    const pending = [0, 1, 2].map(() => chat(sim!, { stream: true }, abort.signal).catch(() => undefined));
    await gaugeReaches(sim, 'vllm:num_requests_running', 2);
    await gaugeReaches(sim, 'vllm:num_requests_waiting', 1);
    assert.equal(await gauge(sim, 'sluice_sim_requests_peak'), 3);
    abort.abort();
    await Promise.all(pending);
  } finally {
    abort.abort();
    stop(sim);
  }
});

test('--output-tokens and --ttft-ms shape the answer: its length and its first-token delay', async () => {
  let sim: SimChild | undefined;
  try {
    sim = await startSim(['--output-tokens', '7-7', '--ttft-ms', '300', '--itl-ms', '1']);
    const started = performance.now();
    const res = await chat(sim);
    const answer = (await res.body.json()) as { usage: { completion_tokens: number } };
    assert.equal(res.statusCode, 200);
    assert.equal(answer.usage.completion_tokens, 7);
    // The default ttftMs is 20 ms: only the flag makes the answer take 300 ms or more.
    assert.ok(performance.now() - started >= 300, `answered after ${Math.round(performance.now() - started)} ms`);
  } finally {
    stop(sim);
  }
});

test('a bad value is refused before the server starts: exit 2, the flag named', () => {
  const cases: Array<[string[], RegExp]> = [
    [['--max-num-seqs', '0'], /--max-num-seqs/],
    [['--max-queue', '1.5'], /--max-queue/],
    [['--itl-ms', 'fast'], /--itl-ms/],
    [['--knee-seqs', '0'], /--knee-seqs/],
    [['--output-tokens', '9-3'], /--output-tokens/],
    [['--output-tokens-min', '100'], /--output-tokens-min/],
  ];
  for (const [flags, named] of cases) {
    const r = spawnSync(process.execPath, [cli, 'sim', '--port', '0', ...flags], { encoding: 'utf8', timeout: 10_000 });
    assert.equal(r.status, 2, `${flags.join(' ')}: exit ${r.status}\n${r.stdout}${r.stderr}`);
    assert.match(r.stderr, named, flags.join(' '));
    assert.doesNotMatch(r.stdout, /listening/, `${flags.join(' ')} started a server`);
  }
});
