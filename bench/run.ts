// `npm run bench`: starts the fake engine, the baseline proxy and the gateway (each its own
// process), drives each in turn with the same load, and reports the gateway against the other two.
// `--scenario overload` runs the overload benchmark instead (bench/overload/scenario.ts),
// `--scenario failover` the failover benchmark (bench/failover/scenario.ts), `--scenario prefix` the
// prefix-cache routing benchmark (bench/prefix/scenario.ts).
// Exit 0 when the benchmark ran (targets missed or not), 1 when it could not run, 2 on bad flags.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { renderProfile, summarizeProfile } from './profile-summary.js';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { runLoad } from './load.js';
import { measureStreamMemory, openFileLimit, rssMb } from './memory.js';
import type { Via } from './metrics.js';
import { estimateSeconds, parseOptions, USAGE, UsageError, type BenchOptions } from './options.js';
import { estimateFailoverSeconds, type FailoverOptions } from './failover/options.js';
import { runFailover } from './failover/scenario.js';
import { estimateOverloadSeconds, type OverloadOptions } from './overload/options.js';
import { runOverload } from './overload/scenario.js';
import { estimatePrefixSeconds, type PrefixOptions } from './prefix/options.js';
import { runPrefix } from './prefix/scenario.js';
import { assertAllAlive, killChildrenOnExit, stopAll } from './processes.js';
import { renderTable, writeJson, type RunInfo } from './report.js';
import { CHAT_PATH, RESPONSES_PATH, isCompleteStream, isJsonAnswer, JSON_BODY, RELEASE_PATH, requestHeaders, SLOW_STREAM_MS, slowStreamBody, STREAM_BODY } from './requests.js';
import { prefixHashMicros } from './long-chat.js';
import { defineMetrics, LOAD_SCENARIOS } from './scenarios.js';
import { checkAuthIsOn, checkLimitsAreOn, ledgerCount, metricsCount } from './gateway-checks.js';
import { BENCH_REDIS_URL, redisUnavailable, scriptCalls } from './redis.js';
import type { LoadScenario } from './scenarios.js';
import { SLUICE_JS, startServers } from './servers.js';
import { evaluateTargets } from './targets.js';
import { measureTtfb } from './ttfb.js';

interface Endpoint {
  via: Via;
  origin: string;
  /** The process whose memory the memory test samples. */
  pid: number;
}

const started = performance.now();
/** After Ctrl-C the work still in flight unwinds; its progress lines would only confuse. */
let interrupted = false;

function progress(message: string): void {
  if (interrupted) return;
  process.stderr.write(`[bench ${((performance.now() - started) / 1000).toFixed(1).padStart(5)}s] ${message}\n`);
}

/** More than 1% failed requests fails the whole benchmark: a broken server must not yield numbers. */
function checkFailures(what: string, ok: number, failed: number): void {
  const total = ok + failed;
  if (total === 0) throw new Error(`${what}: no successful responses`);
  if (failed / total > 0.01) throw new Error(`${what}: ${failed} of ${total} requests failed (over 1%)`);
  assertAllAlive();
}

/** Round r starts the cycle at a different server, so no server always runs right after another. */
function rotated<T>(items: readonly T[], r: number): T[] {
  const k = r % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

async function checkAnswers(e: Endpoint, headers: Record<string, string>): Promise<void> {
  for (const [body, verify] of [[JSON_BODY, isJsonAnswer], [STREAM_BODY, isCompleteStream]] as const) {
    const res = await request(`${e.origin}${CHAT_PATH}`, { method: 'POST', headers, body, headersTimeout: 10_000, bodyTimeout: 10_000 });
    const text = await res.body.text();
    if (res.statusCode !== 200 || !verify(text)) throw new Error(`${e.via} gave a wrong answer (${res.statusCode}): ${text.slice(0, 300)}`);
  }
}

async function bench(o: BenchOptions): Promise<void> {
  // Per server in the memory test: its client sockets plus, for proxy and gateway, as many to the engine.
  const needFiles = 2 * o.memoryStreams + 256;
  if (openFileLimit() < needFiles) throw new Error(`the open-file limit is ${openFileLimit()}; the memory test needs ${needFiles}: run \`ulimit -n ${needFiles}\` first`);

  // Before any server runs: the hashing's own cost, on a quiet machine.
  const prefixHash = prefixHashMicros();
  progress(`prefix hashing: ${prefixHash.micros.toFixed(1)} µs per request (${prefixHash.blocks} blocks)`);
  const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-'));
  progress(`starting fake engine, baseline proxy and gateway (logs in ${dir})`);
  const profileDir = o.cpuProf ? join(dir, 'cpu-profile') : undefined;
  if (profileDir) progress('the gateway runs under --cpu-prof: its numbers are slowed by the profiler');
  const noRedis = await redisUnavailable();
  if (noRedis) progress(`${noRedis}: skipping the Redis-limited runs`);
  const servers = await startServers(dir, o.memoryStreams + 100, profileDir, noRedis ? undefined : BENCH_REDIS_URL);
  const headers = requestHeaders(servers.apiKey);
  const limitedHeaders = requestHeaders(servers.limitedKey);
  const endpoints: Endpoint[] = [
    { via: 'direct', origin: servers.engine.url, pid: servers.engine.pid },
    { via: 'proxy', origin: servers.proxy.url, pid: servers.proxy.pid },
    { via: 'gateway', origin: servers.gateway.url, pid: servers.gateway.pid },
  ];
  for (const e of endpoints) await checkAnswers(e, headers);
  await checkAuthIsOn(servers.gateway.url);
  await checkLimitsAreOn(servers.gateway.url, limitedHeaders);
  if (servers.redisGateway) await checkLimitsAreOn(servers.redisGateway.url, limitedHeaders);
  const scriptCallsBefore = servers.redisGateway ? await scriptCalls() : 0;
  let redisOk = 0;
  /** Where a scenario's requests go via this endpoint; undefined when it does not run that way. */
  const targetOf = (s: LoadScenario, e: Endpoint): { url: string; headers: Record<string, string>; redis: boolean; body?: string; verify?: (b: string) => boolean } | undefined => {
    if (s.responses) {
      if (e.via === 'direct') return undefined;
      if (e.via === 'proxy') return { url: `${e.origin}${CHAT_PATH}`, headers, redis: false };
      return { url: `${e.origin}${RESPONSES_PATH}`, headers, redis: false, body: s.responses.body, verify: s.responses.verify };
    }
    if (s.routing) return e.via === 'direct' ? undefined : { url: `${e.origin}${CHAT_PATH}`, headers, redis: false };
    if (!s.limits) return { url: `${e.origin}${CHAT_PATH}`, headers, redis: false };
    if (e.via === 'direct' || (s.limits === 'redis' && !servers.redisGateway)) return undefined;
    if (e.via === 'proxy') return { url: `${e.origin}${CHAT_PATH}`, headers, redis: false };
    if (s.limits === 'memory') return { url: `${e.origin}${CHAT_PATH}`, headers: limitedHeaders, redis: false };
    return { url: `${servers.redisGateway!.url}${CHAT_PATH}`, headers: limitedHeaders, redis: true };
  };
  progress(`all three answer correctly, and the gateway refuses a wrong key: direct ${servers.engine.url}, proxy ${servers.proxy.url}, gateway ${servers.gateway.url}`);
  // Requests the gateway answered correctly, a lower bound for its metrics and ledger to match.
  let gatewayOk = 2;
  const count = (via: Via, ok: number, redis = false) => {
    if (redis) redisOk += ok;
    else if (via === 'gateway') gatewayOk += ok;
  };

  // Memory first, on freshly started servers: the peak is then what 1,000 open streams cost on top
  // of start-up, not whatever heap the throughput runs left for the GC (reported separately, after
  // them). Once, not per round: it is a level, not a rate, and the slow streams take the longest.
  const metrics = defineMetrics(o.memoryStreams);
  for (const e of endpoints) {
    progress(`memory · ${e.via} · opening ${o.memoryStreams} slow streams, holding them open ${o.memoryHoldMs / 1000} s`);
    const r = await measureStreamMemory({
      origin: e.origin,
      path: CHAT_PATH,
      headers,
      body: slowStreamBody(SLOW_STREAM_MS),
      streams: o.memoryStreams,
      holdMs: o.memoryHoldMs,
      releaseUrl: `${servers.engine.url}${RELEASE_PATH}`,
      pid: e.pid,
      verify: isCompleteStream,
    });
    checkFailures(`slow streams via ${e.via}`, r.ok, r.failed);
    count(e.via, r.ok);
    if (r.maxOpen < o.memoryStreams * 0.99) throw new Error(`memory test via ${e.via}: only ${r.maxOpen} of ${o.memoryStreams} streams were open at once (after ${Math.round(r.openMs)} ms)`);
    metrics.record('memory_idle', e.via, r.idleMb);
    metrics.record('memory_peak', e.via, r.peakMb);
    progress(`memory · ${e.via.padEnd(7)} RSS ${r.idleMb.toFixed(1)} MB before, peak ${r.peakMb.toFixed(1)} MB with ${r.maxOpen} open (all open after ${Math.round(r.openMs)} ms)`);
    await sleep(500);
  }

  for (const e of endpoints) {
    progress(`warm-up · ${e.via}`);
    for (const s of LOAD_SCENARIOS.filter((x) => x.connections > 1 && ((x.limits === undefined && x.routing === undefined && x.responses === undefined) || e.via === 'gateway'))) {
      const t = targetOf(s, e);
      if (!t) continue;
      const r = await runLoad({ url: t.url, headers: t.headers, body: t.body ?? s.body, connections: s.connections, seconds: o.warmupSeconds, verify: t.verify ?? s.verify });
      checkFailures(`warm-up ${s.label} via ${e.via}`, r.ok, r.failed);
      count(e.via, r.ok, t.redis);
    }
  }

  for (let round = 0; round < o.rounds; round++) {
    const tag = `round ${round + 1}/${o.rounds}`;
    const order = rotated(endpoints, round);
    for (const s of LOAD_SCENARIOS) {
      for (const e of order) {
        const t = targetOf(s, e);
        if (!t) continue;
        const r = await runLoad({ url: t.url, headers: t.headers, body: t.body ?? s.body, connections: s.connections, seconds: o.seconds, verify: t.verify ?? s.verify });
        checkFailures(`${s.label} via ${e.via}`, r.ok, r.failed);
        count(e.via, r.ok, t.redis);
        metrics.record(`${s.id}_rps`, e.via, r.rps);
        metrics.record(`${s.id}_p50`, e.via, r.p50);
        metrics.record(`${s.id}_p99`, e.via, r.p99);
        progress(`${tag} · ${s.label.padEnd(29)} · ${e.via.padEnd(7)} ${Math.round(r.rps).toString().padStart(6)}/s  p50 ${r.p50.toFixed(2)} ms  p99 ${r.p99.toFixed(2)} ms`);
        await sleep(100);
      }
    }
    for (const e of order) {
      const r = await measureTtfb({ origin: e.origin, path: CHAT_PATH, headers, body: STREAM_BODY, count: o.ttfbRequests, warmup: o.ttfbWarmup, verify: isCompleteStream });
      checkFailures(`stream time to first byte via ${e.via}`, r.ok, r.failed);
      count(e.via, r.ok);
      metrics.record('stream_ttfb_p50', e.via, r.p50);
      metrics.record('stream_ttfb_p99', e.via, r.p99);
      progress(`${tag} · stream time to first byte     · ${e.via.padEnd(7)} p50 ${r.p50.toFixed(3)} ms  p99 ${r.p99.toFixed(3)} ms  (${r.ok} streams)`);
    }
  }

  for (const e of endpoints) metrics.record('memory_after_load', e.via, rssMb(e.pid));

  const metricsCounted = await metricsCount(servers.gateway.url);
  progress('stopping servers');
  // The gateway flushes its ledger when it drains on SIGTERM; the grace period leaves it time.
  await stopAll(5_000);
  const redis = servers.redisGateway ? { requests: redisOk, scriptCalls: (await scriptCalls()) - scriptCallsBefore } : undefined;
  const bookkeeping = { gatewayRequestsOk: gatewayOk, metricsCounted, ledgerRows: await ledgerCount(SLUICE_JS, servers.gatewayConfig), redis };
  const summaries = metrics.summaries();
  const targets = evaluateTargets(summaries);
  const info: RunInfo = {
    startedAt: new Date(Date.now() - (performance.now() - started)).toISOString(),
    elapsedSeconds: Math.round((performance.now() - started) / 100) / 10,
    node: process.version,
    cpus: availableParallelism(),
    rounds: o.rounds,
    secondsPerRun: o.seconds,
    quick: o.quick,
    memoryStreams: o.memoryStreams,
    memoryHoldMs: o.memoryHoldMs,
    prefixHash,
    bookkeeping,
  };
  process.stdout.write(renderTable(info, summaries, targets));
  writeJson(o.jsonPath, info, summaries, targets);
  progress(`done in ${info.elapsedSeconds} s; results in ${o.jsonPath}`);
  if (profileDir) {
    // The gateway wrote its profile when it stopped (stopAll above); worker threads write their own.
    const files = readdirSync(profileDir).filter((f) => f.endsWith('.cpuprofile')).sort();
    if (files[0] === undefined) throw new Error(`the gateway wrote no CPU profile into ${profileDir}`);
    const main = join(profileDir, files[0]);
    process.stdout.write(`\nGateway main thread, share of its busy time by function (self time, whole run):\n${renderProfile(summarizeProfile(main))}\n\nProfiles kept in ${profileDir} (open in Chrome DevTools or speedscope)\n`);
    return;
  }
  rmSync(dir, { recursive: true, force: true });
}

type Options = BenchOptions | OverloadOptions | FailoverOptions | PrefixOptions;

/** The run's wall-time estimate (seconds) and the line that announces it. */
function announce(o: Options): { estimate: number; line: string } {
  const run = o.quick ? 'quick run' : 'full run';
  switch (o.scenario) {
    case 'overload': {
      const estimate = estimateOverloadSeconds(o);
      return { estimate, line: `overload ${run}: admission off, then on, ${o.arrivalSeconds} s of arrivals each, about ${estimate} s in all` };
    }
    case 'failover': {
      const estimate = estimateFailoverSeconds(o);
      return { estimate, line: `failover ${run}: ${o.arrivalSeconds} s of arrivals, one of two engines killed half-way, about ${estimate} s in all` };
    }
    case 'prefix': {
      const estimate = estimatePrefixSeconds(o);
      return { estimate, line: `prefix ${run}: round-robin, least-loaded, prefix-aware, ${o.conversations} conversations over ${o.startSeconds} s each, about ${estimate} s in all` };
    }
    case 'overhead': {
      const estimate = estimateSeconds(o);
      return { estimate, line: `${run}: ${o.rounds} round(s) of ${o.seconds} s runs, about ${estimate} s in all` };
    }
  }
}

async function main(): Promise<number> {
  let o: Options | 'help';
  try {
    o = parseOptions(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`bench: ${err.message}\n${USAGE}`);
    return 2;
  }
  if (o === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  const { estimate, line } = announce(o);
  progress(line);
  // A hung server or client must not hang CI: give up well past the estimate.
  const watchdog = setTimeout(() => {
    progress(`benchmark failed: still running after ${2 * estimate + 60} s`);
    void stopAll(500).finally(() => process.exit(1));
  }, (2 * estimate + 60) * 1000);
  watchdog.unref();
  try {
    if (o.scenario === 'overload') await runOverload(o, progress);
    else if (o.scenario === 'failover') await runFailover(o, progress);
    else if (o.scenario === 'prefix') await runPrefix(o, progress);
    else await bench(o);
    return 0;
  } catch (err) {
    progress(`benchmark failed: ${(err as Error).message}`);
    await stopAll(500);
    return 1;
  } finally {
    clearTimeout(watchdog);
  }
}

killChildrenOnExit((signal) => {
  progress(`${signal}: stopping servers`);
  interrupted = true;
  void stopAll(500).finally(() => process.exit(130));
});
process.exitCode = await main();
