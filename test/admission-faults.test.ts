// Admission under faults (issue 12: "every gauge returns to zero after a test that floods,
// disconnects clients mid-queue and restarts the engine"), over real HTTP: a gateway whose model
// has one `engine: openai` deployment in front of the standalone simulator, two slots, small
// queues per class, and keys of the three priority classes. One test, in phases that each leave
// the gateway busy for the next: a flood (admitted, queued, shed), disconnects (while queued,
// mid-stream, mid-generation, and at random moments of a second flood), then an engine restart
// with requests in service. Afterwards every gauge that measures what is held right now reads
// zero, the engine's own load gauges too, no shed request is on the ledger, no credit is still
// held, and both slots serve again at once.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mulberry32 } from '../src/sim/rng.js';
import { setMaxListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { startSimServer, type SimServer } from '../src/sim/sim-server.js';
import { catalog, type ErrorCode } from '../src/errors/catalog.js';
import type { Priority } from '../src/store/keys-repo.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { assertContractError } from './helpers/assert-error.js';

const ACCOUNT = 'adm-faults';
const KEYS: Record<Priority, string> = {
  critical: 'sk-test-admfaults-critical-0001',
  standard: 'sk-test-admfaults-standard-0001',
  batch: 'sk-test-admfaults-batch-000000001',
};
const MODEL = 'flooded';
const DEPLOYMENT = 'flooded-up';

/**
 * Two slots; the queue holds 6 waiters of all classes together, fewer than the classes' lengths
 * add up to, so a higher-class arrival evicts. A critical request waits up to 10 s (the phases
 * below queue critical requests behind held slots and take them out themselves); a standard
 * one 800 ms and a batch one 300 ms, so that in the flood, where the four critical waiters are
 * served only after the first two requests and then two at a time (~1.3 s before a standard or
 * batch waiter can be), the waiters behind them time out.
 */
const ADMISSION = {
  maxConcurrency: 2,
  maxQueue: 6,
  queue: {
    critical: { maxLength: 4, maxWaitMs: 10_000 },
    standard: { maxLength: 3, maxWaitMs: 800 },
    batch: { maxLength: 3, maxWaitMs: 300 },
  },
};

/**
 * The engine: 60 ms to the first token, then 30 ms a token whatever the batch (no slowdown, so
 * service times are known), and room for far more sequences than the gateway lets through:
 * admission, not the engine, is what limits. Answers are 400 tokens unless max_tokens says less:
 * the ordinary requests below ask for SHORT (about 660 ms each), the slot holders for all 400
 * (12 s, far longer than any phase; they are always cut short).
 */
const SIM = { ttftMs: 60, itlMs: 30, maxNumSeqs: 32, maxQueue: 64, outputTokens: { min: 400, max: 400 }, load: { kneeSeqs: 64, stepGrowth: 0 } };
const SHORT = 20;
const LONG = 400;

/** Generous: no gateway timeout fires in this test unless something hangs. */
const TIMEOUTS = { firstTokenMs: 8_000, idleMs: 5_000, totalMs: 15_000 };
/** Every request settles (answer, error or abort) within this; a hang fails the test. */
const SETTLE_MS = 12_000;

/**
 * Gauges of what is held right now: each must read zero once nothing is in flight, whatever
 * happened before. sluice_requests_in_flight counts every request being served, the scrape that
 * reads it included, so at rest it reads 1.
 */
const OCCUPANCY_GAUGES = ['sluice_admission_queue_length', 'sluice_admission_in_service', 'sluice_requests_in_flight', 'sluice_deployment_outstanding_requests', 'sluice_ledger_backlog_rows'] as const;
/**
 * Gauges that are not the gateway's occupancy: settings (the limit in force, the queue's
 * capacity), health verdicts (the store's too), the engine's own published load (engineMetrics;
 * this test reads the engine's /metrics itself), the ledger backlog's age (0 whenever its
 * rows, an occupancy gauge, are), and the LoRA adapters a deployment holds (engine state, not
 * requests; this test has none).
 */
const OTHER_GAUGES = [
  'sluice_admission_limit', 'sluice_admission_queue_capacity', 'sluice_deployment_circuit_state', 'sluice_deployment_healthy',
  'sluice_store_up', 'sluice_ledger_backlog_age_seconds', 'sluice_adapters_loaded',
  'sluice_engine_requests_running', 'sluice_engine_requests_waiting', 'sluice_engine_kv_cache_usage_ratio', 'sluice_engine_saturated',
];
/** prom-client's default process metrics (heap, handles, event loop): the whole test process's. */
const PROCESS_GAUGE = /^sluice_(process|nodejs)_/;
/** What the occupancy gauges read when nothing is held. */
const IDLE: Record<string, number> = {
  [`sluice_admission_queue_length{deployment="${DEPLOYMENT}",priority="critical"}`]: 0,
  [`sluice_admission_queue_length{deployment="${DEPLOYMENT}",priority="standard"}`]: 0,
  [`sluice_admission_queue_length{deployment="${DEPLOYMENT}",priority="batch"}`]: 0,
  [`sluice_admission_in_service{deployment="${DEPLOYMENT}"}`]: 0,
  [`sluice_deployment_outstanding_requests{model="${MODEL}",deployment="${DEPLOYMENT}"}`]: 0,
  // In the order /metrics lists them (sameAs compares JSON).
  sluice_ledger_backlog_rows: 0,
  sluice_requests_in_flight: 1,
};

const SHED: readonly ErrorCode[] = ['server_overloaded', 'queue_timeout'];
/** What an engine that goes away under a request may turn into (the 502/503/504 family). */
const ENGINE_GONE: readonly ErrorCode[] = ['upstream_unreachable', 'upstream_invalid_response', 'engine_overloaded', 'first_token_timeout', 'stream_timeout', 'generation_timeout'];

let sim: SimServer;
let gw: TestGateway;
/** Aborted when the test ends, pass or fail: no request outlives it. */
const teardown = new AbortController();
setMaxListeners(0, teardown.signal); // one listener per request in flight
/** Every simulator started, so the after hook closes them all. */
const sims: SimServer[] = [];

async function startSim(port = 0): Promise<SimServer> {
  const s = await startSimServer({ port, settings: SIM });
  sims.push(s);
  return s;
}

/** A simulator on the port the old one left; retried for a moment should the port still be taken. */
async function restartSim(port: number): Promise<SimServer> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await startSim(port);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= 40) throw err;
      await sleep(50);
    }
  }
}

before(async () => {
  sim = await startSim();
  gw = await startTestGateway({
    accounts: [{ id: ACCOUNT, credits: 100, keys: (Object.keys(KEYS) as Priority[]).map((priority) => ({ key: KEYS[priority], priority })) }],
    models: [{
      id: MODEL,
      pricing: { inputPerMTok: 1, outputPerMTok: 1 },
      timeouts: TIMEOUTS,
      // A short cooldown: the circuit the engine restart opens lets its probe through soon.
      circuitBreaker: { cooldownMs: 200 },
      deployments: [{ id: DEPLOYMENT, engine: 'openai', baseUrl: sim.url, admission: ADMISSION }],
    }],
  });
});

after(async () => {
  await gw?.close();
  for (const s of sims) await s.close();
});

// ---------------------------------------------------------------------------------------------
// Requests

interface Call {
  priority: Priority;
  stream: boolean;
  maxTokens?: number;
  signal?: AbortSignal;
  /** Called once the first SSE event arrived (the request is in service, mid-stream). */
  onFirstEvent?: () => void;
}

interface Outcome {
  priority: Priority;
  stream: boolean;
  /** ok: a complete answer; error: an error status; stream-error: a 200 stream ended by an error event; aborted: the client left. */
  kind: 'ok' | 'error' | 'stream-error' | 'aborted';
  status?: number;
  code?: string;
  requestId?: string;
  /** For `aborted`: whether the stream had begun (an event arrived) before the client left. */
  midStream?: boolean;
}

/** The error object of a contract error: shape checked here, the code checked by the caller. */
function checkErrorObject(e: any, requestId: string | undefined): void {
  assert.equal(typeof e, 'object');
  const entry = catalog[e.code as ErrorCode];
  assert.ok(entry, `an error code of the catalog: ${JSON.stringify(e)}`);
  assert.equal(e.type, entry.type);
  assert.equal(typeof e.message, 'string');
  assert.equal(e.request_id, requestId);
}

/** Splits an SSE body into its data payloads. */
function sseData(text: string): string[] {
  return text.split('\n\n').map((b) => b.trim()).filter(Boolean).map((b) => {
    assert.ok(b.startsWith('data: '), `SSE block ${JSON.stringify(b.slice(0, 200))}`);
    return b.slice('data: '.length);
  });
}

/**
 * One chat request over real HTTP, read to its end. Any answer that is neither a complete
 * answer nor a contract error fails here; which codes are acceptable is the caller's to judge.
 */
async function call(c: Call): Promise<Outcome> {
  const base = { priority: c.priority, stream: c.stream };
  const maxTokens = c.maxTokens ?? SHORT;
  const body = JSON.stringify({
    model: MODEL,
    stream: c.stream,
    ...(c.stream && { stream_options: { include_usage: true } }),
    max_tokens: maxTokens,
    messages: [{ role: 'user', content: `A ${c.priority} question.` }],
  });
  let res: Response;
  try {
    res = await fetch(`${gw.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEYS[c.priority]}`, 'content-type': 'application/json' },
      body,
      signal: c.signal ? AbortSignal.any([c.signal, teardown.signal]) : teardown.signal,
    });
  } catch (err) {
    if (c.signal?.aborted || teardown.signal.aborted) return { ...base, kind: 'aborted', midStream: false };
    throw err;
  }
  const requestId = res.headers.get('x-request-id') ?? undefined;
  let text = '';
  let events = false;
  try {
    if (res.status === 200 && c.stream) {
      const reader = res.body!.getReader();
      const decoder = new TextDecoder();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        text += decoder.decode(value, { stream: true });
        if (!events && text.includes('\n\n')) {
          events = true;
          c.onFirstEvent?.();
        }
      }
    } else {
      text = await res.text();
    }
  } catch (err) {
    if (c.signal?.aborted || teardown.signal.aborted) return { ...base, kind: 'aborted', status: res.status, requestId, midStream: events };
    throw err;
  }
  const what = `${c.priority} ${c.stream ? 'stream' : 'json'} ${requestId}: ${res.status} ${text.slice(0, 300)}`;
  assert.notEqual(res.status, 500, `no 500: ${what}`);
  if (res.status !== 200) {
    const parsed = JSON.parse(text);
    assertContractError({ status: res.status, headers: res.headers, body: parsed }, parsed.error?.code);
    return { ...base, kind: 'error', status: res.status, code: parsed.error.code, requestId };
  }
  if (!c.stream) {
    const parsed = JSON.parse(text);
    assert.equal(parsed.object, 'chat.completion', what);
    assert.equal(parsed.model, MODEL, what);
    assert.ok(typeof parsed.choices[0].message.content === 'string' && parsed.choices[0].message.content.length > 0, what);
    assert.equal(parsed.choices[0].finish_reason, 'length', what);
    assert.equal(parsed.usage.completion_tokens, maxTokens, what);
    return { ...base, kind: 'ok', status: 200, requestId };
  }
  const data = sseData(text);
  assert.equal(data.at(-1), '[DONE]', `a stream ends with [DONE]: ${what}`);
  const chunks = data.slice(0, -1).map((d) => JSON.parse(d));
  const failed = chunks.find((ch) => ch.error !== undefined);
  if (failed) {
    assert.equal(chunks.at(-1), failed, `the error event is the last event: ${what}`);
    checkErrorObject(failed.error, requestId);
    return { ...base, kind: 'stream-error', status: 200, code: failed.error.code, requestId };
  }
  assert.ok(chunks.every((ch) => ch.object === 'chat.completion.chunk' && ch.model === MODEL), what);
  assert.ok(chunks.some((ch) => ch.choices[0]?.delta?.content), `content streamed: ${what}`);
  assert.ok(chunks.some((ch) => ch.choices[0]?.finish_reason === 'length'), `a finish reason: ${what}`);
  assert.equal(chunks.at(-1).usage?.completion_tokens, maxTokens, `the usage event: ${what}`);
  return { ...base, kind: 'ok', status: 200, requestId };
}

/** `p`, or a failure naming `what` if it has not settled within `ms`: nothing may hang. */
async function within<T>(p: Promise<T>, what: string, ms = SETTLE_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new assert.AssertionError({ message: `${what} did not settle within ${ms} ms` })), ms);
  });
  const stop = () => clearTimeout(timer);
  teardown.signal.addEventListener('abort', stop, { once: true });
  const settled = Promise.race([p, limit]).finally(() => {
    stop();
    teardown.signal.removeEventListener('abort', stop);
  });
  // A test that failed half-way leaves requests it no longer awaits: their end is no news.
  settled.catch(() => {});
  return settled;
}

/** Polls `cond` until it holds; fails naming `what` (and the last value seen) past the deadline. */
async function waitFor<T>(what: string, probe: () => T | Promise<T>, cond: (v: T) => boolean, limitMs = 5_000): Promise<T> {
  const t0 = performance.now();
  for (;;) {
    const v = await probe();
    if (cond(v)) return v;
    if (performance.now() - t0 > limitMs) assert.fail(`${what} not within ${limitMs} ms; last seen ${JSON.stringify(v)}`);
    await sleep(10);
  }
}

function tally(outcomes: Outcome[]): Record<string, number> {
  const t: Record<string, number> = {};
  for (const o of outcomes) {
    const k = o.code ? `${o.kind}:${o.code}` : o.kind;
    t[k] = (t[k] ?? 0) + 1;
  }
  return t;
}

/** Every outcome is one of `kinds`, and every error code one of `codes`. */
function assertOnly(outcomes: Outcome[], kinds: Outcome['kind'][], codes: readonly ErrorCode[], phase: string): void {
  for (const o of outcomes) {
    assert.ok(kinds.includes(o.kind), `${phase}: unexpected ${o.kind} ${JSON.stringify(o)}; all: ${JSON.stringify(tally(outcomes))}`);
    if (o.code !== undefined) assert.ok(codes.includes(o.code as ErrorCode), `${phase}: unexpected code ${JSON.stringify(o)}; all: ${JSON.stringify(tally(outcomes))}`);
  }
}

/** Seeded, so a failing run can be replayed. */
const random = mulberry32;

// ---------------------------------------------------------------------------------------------
// Metrics

interface Sample {
  name: string;
  labels: string;
  value: number;
}

/** A Prometheus text exposition: its samples, and the names declared `# TYPE … gauge`. */
function parseProm(text: string): { samples: Sample[]; gauges: Set<string> } {
  const samples: Sample[] = [];
  const gauges = new Set<string>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) {
      if (type[2] === 'gauge') gauges.add(type[1]!);
      continue;
    }
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([A-Za-z_:][\w:]*)(\{.*\})? (\S+)$/.exec(line);
    assert.ok(m, `a sample line: ${line}`);
    samples.push({ name: m[1]!, labels: m[2] ?? '', value: Number(m[3]) });
  }
  return { samples, gauges };
}

async function scrape(url: string): Promise<{ samples: Sample[]; gauges: Set<string> }> {
  const res = await fetch(url);
  assert.equal(res.status, 200);
  return parseProm(await res.text());
}

/** The occupancy gauges of the gateway, series by series ("name{labels}" → value). */
async function occupancy(): Promise<Record<string, number>> {
  const { samples, gauges } = await scrape(`${gw.url}/metrics`);
  // Every gauge the gateway exports is classified: a new one must be added to one of the lists
  // above, so that "every occupancy gauge returns to zero" stays true of the gateway as it grows.
  const unclassified = [...gauges].filter((g) => !PROCESS_GAUGE.test(g) && !OTHER_GAUGES.includes(g) && !(OCCUPANCY_GAUGES as readonly string[]).includes(g));
  assert.deepEqual(unclassified, [], 'gauges this test does not know: add each to OCCUPANCY_GAUGES (and IDLE) or OTHER_GAUGES');
  const out: Record<string, number> = {};
  for (const s of samples) if ((OCCUPANCY_GAUGES as readonly string[]).includes(s.name)) out[s.name + s.labels] = s.value;
  return out;
}

const sameAs = (expected: Record<string, number>) => (v: Record<string, number>) => JSON.stringify(v) === JSON.stringify(expected);

/**
 * The occupancy gauges as they read with `queued` waiters of each class and `inService` admitted,
 * and nothing else in flight but those and the scrape.
 */
function busy(queued: Partial<Record<Priority, number>>, inService: number): Record<string, number> {
  const waiting = (queued.critical ?? 0) + (queued.standard ?? 0) + (queued.batch ?? 0);
  return {
    ...IDLE,
    sluice_requests_in_flight: 1 + waiting + inService,
    [`sluice_admission_queue_length{deployment="${DEPLOYMENT}",priority="critical"}`]: queued.critical ?? 0,
    [`sluice_admission_queue_length{deployment="${DEPLOYMENT}",priority="standard"}`]: queued.standard ?? 0,
    [`sluice_admission_queue_length{deployment="${DEPLOYMENT}",priority="batch"}`]: queued.batch ?? 0,
    [`sluice_admission_in_service{deployment="${DEPLOYMENT}"}`]: inService,
    [`sluice_deployment_outstanding_requests{model="${MODEL}",deployment="${DEPLOYMENT}"}`]: inService,
  };
}

/** The deployment's circuit: 0 closed, 1 half-open, 2 open. */
async function circuitState(): Promise<number> {
  const text = await (await fetch(`${gw.url}/metrics`)).text();
  return Number(new RegExp(`^sluice_deployment_circuit_state\\{model="${MODEL}",deployment="${DEPLOYMENT}"\\} (\\d+)`, 'm').exec(text)?.[1] ?? NaN);
}

/** The simulator's own (vLLM's) load gauges. */
async function engineLoad(s: SimServer): Promise<{ running: number; waiting: number }> {
  const { samples } = await scrape(`${new URL(s.url).origin}/metrics`);
  const value = (name: string) => samples.find((x) => x.name === name)?.value ?? NaN;
  return { running: value('vllm:num_requests_running'), waiting: value('vllm:num_requests_waiting') };
}

/**
 * Two requests holding both slots for 12 s (a stream mid-way and a non-streamed generation), each
 * with its controller; resolves once both are in service at the engine.
 */
async function holdBothSlots(priority: Priority = 'standard'): Promise<{ done: Promise<Outcome[]>; abort: () => void }> {
  const controllers = [new AbortController(), new AbortController()];
  let streaming!: () => void;
  const firstEvent = new Promise<void>((resolve) => (streaming = resolve));
  const done = Promise.all([
    within(call({ priority, stream: true, maxTokens: LONG, signal: controllers[0]!.signal, onFirstEvent: streaming }), 'stream holder'),
    within(call({ priority, stream: false, maxTokens: LONG, signal: controllers[1]!.signal }), 'json holder'),
  ]);
  await within(firstEvent, 'the holding stream\'s first event');
  await waitFor('both holders generating at the engine', () => sim.core.load().running, (n) => n === 2);
  return { done, abort: () => controllers.forEach((c) => c.abort()) };
}

// ---------------------------------------------------------------------------------------------

test('flood, disconnects and an engine restart leave every gauge at zero, nothing charged for sheds, and both slots serving', async (t) => {
  t.after(() => teardown.abort());
  const t0 = performance.now();
  const all: Outcome[] = [];
  const account = await gw.store.accounts.get(ACCOUNT);
  const creditsBefore = account!.creditsNanos!;

  // 1. Flood: 48 requests at once, every class, streamed and not, far more than two slots and six
  // places hold. The engine never sees more than the limit.
  let engineMax = 0;
  const sampler = setInterval(() => (engineMax = Math.max(engineMax, sim.core.load().running)), 2);
  let flood: Outcome[];
  try {
    const priorities: Priority[] = ['critical', 'standard', 'batch'];
    flood = await Promise.all(Array.from({ length: 48 }, (_, i) => within(call({ priority: priorities[i % 3]!, stream: i % 2 === 0 }), `flood request ${i}`)));
  } finally {
    clearInterval(sampler);
  }
  all.push(...flood);
  const floodTally = tally(flood);
  t.diagnostic(`flood: ${JSON.stringify(floodTally)}`);
  assertOnly(flood, ['ok', 'error'], SHED, 'flood');
  assert.ok(flood.filter((o) => o.kind === 'ok').length >= 6, `both slots served, the queue drained: ${JSON.stringify(floodTally)}`);
  assert.ok((floodTally['error:server_overloaded'] ?? 0) >= 1, `some shed on arrival or evicted: ${JSON.stringify(floodTally)}`);
  assert.ok((floodTally['error:queue_timeout'] ?? 0) >= 1, `some waited too long: ${JSON.stringify(floodTally)}`);
  assert.ok(flood.every((o) => o.kind === 'ok' || o.status === 503), 'sheds are 503s');
  assert.equal(engineMax, 2, 'the engine got exactly as many requests at once as the limit allows');
  assert.deepEqual(await waitFor('flood settled', occupancy, sameAs(IDLE)), IDLE);

  // 2a. Disconnects while queued, behind two held slots (so the queue stands still and every
  // step is certain): three critical waiters and three standard ones fill the queue; a fourth
  // critical arrival evicts the newest standard waiter; a batch arrival finds the queue full with
  // nobody below it to evict; the other standard waiters time out; then the critical waiters'
  // clients leave (the queue empties at once), and the holders' (one mid-stream, one mid-generation).
  {
    const holders = await holdBothSlots();
    const leave = Array.from({ length: 4 }, () => new AbortController());
    const critical = leave.slice(0, 3).map((c, i) => within(call({ priority: 'critical', stream: i % 2 === 0, signal: c.signal }), `queued critical ${i}`));
    await waitFor('critical waiters queued', occupancy, sameAs(busy({ critical: 3 }, 2)));
    const standard = [0, 1, 2].map((i) => within(call({ priority: 'standard', stream: i % 2 === 1 }), `queued standard ${i}`));
    await waitFor('standard waiters queued', occupancy, sameAs(busy({ critical: 3, standard: 3 }, 2)));
    critical.push(within(call({ priority: 'critical', stream: true, signal: leave[3]!.signal }), 'queued critical 3'));
    await waitFor('a standard waiter evicted', occupancy, sameAs(busy({ critical: 4, standard: 2 }, 2)));
    const refused = await within(call({ priority: 'batch', stream: false }), 'batch into a full queue');
    assert.equal(refused.code, 'server_overloaded', JSON.stringify(refused));
    const standards = await Promise.all(standard);
    assert.deepEqual(standards.map((o) => o.code).sort(), ['queue_timeout', 'queue_timeout', 'server_overloaded'], 'one evicted, two timed out');
    assert.deepEqual(await occupancy(), busy({ critical: 4 }, 2));
    for (const c of leave) c.abort();
    const left = await Promise.all(critical);
    assert.deepEqual(left.map((o) => o.kind), ['aborted', 'aborted', 'aborted', 'aborted']);
    assert.deepEqual(await waitFor('leavers gone from the queue', occupancy, sameAs(busy({}, 2))), busy({}, 2), 'the slots are still held, the queue is empty');
    holders.abort();
    const cut = await holders.done;
    assert.deepEqual(cut.map((o) => [o.kind, o.midStream]), [['aborted', true], ['aborted', false]], 'the holders left mid-stream and mid-generation');
    all.push(refused, ...standards, ...left, ...cut);
    assert.deepEqual(await waitFor('slots released after the holders left', occupancy, sameAs(IDLE)), IDLE);
    await waitFor('the engine let go of the holders', () => engineLoad(sim), (l) => l.running === 0 && l.waiting === 0);
  }

  // 2b. A second flood, spread over 700 ms, whose clients leave at random moments: before
  // admission, while queued, just as they are admitted, before the first token, mid-stream, or
  // (one in four) not at all.
  {
    const rand = random(12);
    const priorities: Priority[] = ['critical', 'standard', 'batch'];
    const chaos = await Promise.all(Array.from({ length: 24 }, async (_, i) => {
      await sleep(Math.floor(rand() * 700));
      const ac = new AbortController();
      const timer = i % 4 === 3 ? undefined : setTimeout(() => ac.abort(), Math.floor(rand() * 900));
      return within(call({ priority: priorities[i % 3]!, stream: i % 2 === 0, signal: ac.signal }), `chaos request ${i}`).finally(() => clearTimeout(timer));
    }));
    all.push(...chaos);
    assertOnly(chaos, ['ok', 'error', 'aborted'], SHED, 'random disconnects');
    const mix = tally(chaos);
    t.diagnostic(`random disconnects: ${JSON.stringify(mix)}, of which mid-stream ${chaos.filter((o) => o.midStream).length}`);
    assert.ok((mix.aborted ?? 0) >= 5 && (mix.ok ?? 0) >= 1, `a mix: ${JSON.stringify(mix)}`);
    assert.deepEqual(await waitFor('random disconnects settled', occupancy, sameAs(IDLE)), IDLE);
  }

  // 3. Engine restart with requests in service: both slots held (a stream mid-way, a generation
  // under way), four critical requests queued behind them; the engine goes away (every
  // connection dropped, the port closed), and once everything has failed comes back on the
  // same port.
  {
    const holders = await holdBothSlots('critical');
    const queued = Array.from({ length: 4 }, (_, i) => within(call({ priority: 'critical', stream: i % 2 === 1 }), `queued across the restart ${i}`));
    await waitFor('critical waiters queued', occupancy, sameAs(busy({ critical: 4 }, 2)));
    const port = Number(new URL(sim.url).port);
    await sim.close();
    const [cut, behind] = await Promise.all([holders.done, Promise.all(queued)]);
    all.push(...cut, ...behind);
    t.diagnostic(`engine down: in service ${JSON.stringify(tally(cut))}, queued ${JSON.stringify(tally(behind))}`);
    // The holders were in service when the engine went: a stream mid-way ends with an error
    // event, a generation with an error status, both of the 502/503/504 family.
    assert.equal(cut[0]!.kind, 'stream-error', JSON.stringify(cut[0]));
    assert.equal(cut[1]!.kind, 'error', JSON.stringify(cut[1]));
    assertOnly(cut, ['stream-error', 'error'], ENGINE_GONE, 'in service when the engine went');
    // Those queued were admitted as the holders failed, to an engine no longer there: errors
    // with a real status (nothing was streamed yet), and their slots back at once.
    assertOnly(behind, ['error'], ENGINE_GONE, 'queued when the engine went');
    assert.ok([...cut, ...behind].every((o) => o.kind === 'stream-error' || [502, 503, 504].includes(o.status!)), JSON.stringify([...cut, ...behind]));
    assert.deepEqual(await waitFor('slots released while the engine is down', occupancy, sameAs(IDLE)), IDLE);
    sim = await restartSim(port);
    // The failures opened the deployment's circuit (routing's outlier detection): after its
    // cooldown one probe goes through and, served by the new engine, closes it.
    await waitFor('the circuit ready for a probe', circuitState, (state) => state !== 2);
    const probe = await within(call({ priority: 'critical', stream: false }), 'the probe after the restart');
    all.push(probe);
    assert.equal(probe.kind, 'ok', JSON.stringify(probe));
    assert.equal(await circuitState(), 0, 'the probe closed the circuit');
    // Later requests are served by the new engine, without a retry (two at a time: both admitted
    // at once, so that no batch request waits longer than its class allows).
    const later: Outcome[] = [];
    for (const pair of [['critical', 'batch'], ['batch', 'standard']] as Priority[][]) {
      later.push(...await Promise.all(pair.map((priority, i) => within(call({ priority, stream: i === 0 }), `after the restart: ${priority}`))));
    }
    all.push(...later);
    assert.deepEqual(later.map((o) => o.kind), ['ok', 'ok', 'ok', 'ok'], JSON.stringify(later));
  }

  // 4. Everything settled: every occupancy gauge of the gateway at zero (the scrape itself in flight).
  assert.deepEqual(await waitFor('every gauge back to zero', occupancy, sameAs(IDLE)), IDLE);
  // The new engine holds nothing either, by its own (vLLM's) gauges.
  assert.deepEqual(await waitFor('the engine idle', () => engineLoad(sim), (l) => l.running === 0 && l.waiting === 0), { running: 0, waiting: 0 });

  // Both slots serve at once: two streams are in service together with nobody queued, which a
  // slot leaked by any of the above would prevent (the second would wait for the first).
  {
    const firsts: Array<() => void> = [];
    const started = [0, 1].map(() => new Promise<void>((resolve) => firsts.push(resolve)));
    const pair = (['critical', 'batch'] as Priority[]).map((priority, i) => within(call({ priority, stream: true, maxTokens: 40, onFirstEvent: firsts[i] }), `final ${priority}`));
    await within(Promise.all(started), 'both final streams started');
    assert.deepEqual(await occupancy(), busy({}, 2), 'both in service together, none queued');
    const served = await Promise.all(pair);
    all.push(...served);
    assert.deepEqual(served.map((o) => o.kind), ['ok', 'ok']);
    assert.deepEqual(await waitFor('idle after the last requests', occupancy, sameAs(IDLE)), IDLE);
  }

  // Billing: nothing shed is on the ledger, no credit is still held for a request, and the
  // balance moved by exactly what the ledger charged.
  await gw.settled();
  const sheds = all.filter((o) => o.kind === 'error' && SHED.includes(o.code as ErrorCode));
  assert.ok(sheds.length >= 10, `sheds: ${sheds.length}`);
  for (const o of sheds) assert.equal(await gw.store.usage.find(o.requestId!), undefined, `a shed request is on the ledger: ${JSON.stringify(o)}`);
  assert.equal(await gw.store.billing.leased(ACCOUNT), 0, 'no credit still held in a lease');
  const ledger = await gw.store.usage.report({ account: ACCOUNT });
  const creditsAfter = (await gw.store.accounts.get(ACCOUNT))!.creditsNanos!;
  assert.equal(creditsBefore - creditsAfter, ledger.totals.costNanos, 'the balance moved by what the ledger charged');
  assert.ok(ledger.totals.requests >= all.filter((o) => o.kind === 'ok').length, 'every answer is on the ledger');

  const ms = performance.now() - t0;
  t.diagnostic(`sheds ${sheds.length}, ledger rows ${ledger.totals.requests}, ${Math.round(ms)} ms`);
  assert.ok(ms < 20_000, `the whole test took ${Math.round(ms)} ms`);
});
