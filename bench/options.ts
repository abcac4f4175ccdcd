// Command-line flags and the run plan they produce. The defaults keep a full run under 3 minutes
// on a 2-core machine (3 rounds, so each number is a true median) and --quick under ~40 s (CI's
// smoke check that the benchmark still works). `--scenario overload` runs the overload benchmark
// instead (bench/overload/), whose plan is in overload/options.ts; `--scenario failover` the
// failover benchmark (bench/failover/, plan in failover/options.ts); `--scenario prefix` the
// prefix-cache routing benchmark (bench/prefix/, plan in prefix/options.ts).
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { failoverOptions, type FailoverOptions } from './failover/options.js';
import { overloadOptions, type OverloadOptions } from './overload/options.js';
import { prefixOptions, type PrefixOptions } from './prefix/options.js';

export const SCENARIOS = ['overhead', 'overload', 'failover', 'prefix'] as const;

export interface BenchOptions {
  scenario: 'overhead';
  quick: boolean;
  /** Cycles of direct → proxy → gateway over every scenario; each number is the median over them. */
  rounds: number;
  /** Length of each load run, seconds. */
  seconds: number;
  /** Unrecorded load per server before round 1 (JIT, connection pools). */
  warmupSeconds: number;
  ttfbRequests: number;
  ttfbWarmup: number;
  memoryStreams: number;
  /** How long the memory test holds all its streams open together. */
  memoryHoldMs: number;
  jsonPath: string;
  /** Run the gateway under `--cpu-prof` and summarize where its time went (numbers then skewed). */
  cpuProf: boolean;
}

export class UsageError extends Error {}

export const USAGE = `usage: npm run bench -- [--scenario overhead|overload|failover|prefix] [--quick] [--duration S] [--rounds N] [--json PATH]

  --scenario S   overhead (default): the gateway's cost against direct and a bare proxy, ~3 min;
                 overload: 2 × capacity against a simulator, admission off then on, ~1 min;
                 failover: two simulators, one killed half-way under load, ~32 s;
                 prefix: conversations over four simulators routed round-robin, least-loaded
                 and prefix-aware, ~65 s
  --quick        overhead: 1 round of 1 s runs, streams held open 1 s (CI smoke check, ~40 s);
                 overload: 6 s of arrivals per run (~25 s); failover: 10 s of arrivals (~16 s);
                 prefix: 2.5 s of conversation starts per run, each cut to 4 requests (~25 s)
  --duration S   overhead: seconds per load run (default 2.5; 1 with --quick);
                 overload: seconds of arrivals per run (default 15; 6 with --quick);
                 failover: seconds of arrivals (default 24; 10 with --quick);
                 prefix: seconds of conversation starts per run, 6 a second (default 8; 2.5 with --quick)
  --rounds N     overhead only: direct/proxy/gateway cycles, median taken (default 3; 1 with --quick)
  --json PATH    where to write the machine-readable results (default bench/results/latest.json,
                 overload.json, failover.json or prefix.json in bench/results/)
  --cpu-prof     overhead only: profile the gateway (node --cpu-prof): print its top functions by
                 self time and keep the .cpuprofile (the profiler slows the gateway: compare ratios
                 without it)
`;

const DEFAULT_JSON = fileURLToPath(new URL('../../bench/results/latest.json', import.meta.url));

function positive(name: string, value: string | undefined, fallback: number, integer: boolean): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) throw new UsageError(`--${name} expects a positive ${integer ? 'integer' : 'number'}, got ${JSON.stringify(value)}`);
  return n;
}

export function parseOptions(argv: string[]): BenchOptions | OverloadOptions | FailoverOptions | PrefixOptions | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        scenario: { type: 'string', default: 'overhead' },
        quick: { type: 'boolean', default: false },
        duration: { type: 'string' },
        rounds: { type: 'string' },
        json: { type: 'string' },
        'cpu-prof': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (parsed.help) return 'help';
  const quick = parsed.quick === true;
  if (!(SCENARIOS as readonly string[]).includes(parsed.scenario)) throw new UsageError(`--scenario expects one of ${SCENARIOS.join(', ')}, got ${JSON.stringify(parsed.scenario)}`);
  if (parsed.scenario === 'overload' || parsed.scenario === 'failover' || parsed.scenario === 'prefix') {
    for (const flag of ['rounds', 'cpu-prof'] as const) {
      if (parsed[flag] !== undefined && parsed[flag] !== false) throw new UsageError(`--${flag} applies to the overhead scenario only`);
    }
    const duration = parsed.duration === undefined ? undefined : positive('duration', parsed.duration, 0, false);
    const json = parsed.json === undefined ? undefined : resolve(parsed.json);
    if (parsed.scenario === 'overload') return overloadOptions(quick, duration, json);
    return parsed.scenario === 'failover' ? failoverOptions(quick, duration, json) : prefixOptions(quick, duration, json);
  }
  return {
    scenario: 'overhead',
    quick,
    rounds: positive('rounds', parsed.rounds, quick ? 1 : 3, true),
    seconds: positive('duration', parsed.duration, quick ? 1 : 2.5, false),
    warmupSeconds: quick ? 0.5 : 1,
    ttfbRequests: quick ? 100 : 300,
    ttfbWarmup: quick ? 10 : 30,
    memoryStreams: 1000,
    memoryHoldMs: quick ? 1_000 : 3_000,
    jsonPath: parsed.json === undefined ? DEFAULT_JSON : resolve(parsed.json),
    cpuProf: parsed['cpu-prof'] === true,
  };
}

/** Rough wall time of a run with these options, seconds: printed up front, and the watchdog's basis. */
export function estimateSeconds(o: BenchOptions): number {
  const startup = 3;
  const warmup = 3 * 2 * (o.warmupSeconds + 0.2);
  // Four scenarios three ways; three rate-limited, two Responses and two long-chat ones two ways (proxy and gateway).
  const loadRuns = o.rounds * (4 * 3 + 7 * 2) * (o.seconds + 0.2);
  const ttfb = o.rounds * 3 * (o.ttfbRequests + o.ttfbWarmup) * 0.002;
  const memory = 3 * (o.memoryHoldMs / 1000 + 3);
  return Math.ceil(startup + warmup + loadRuns + ttfb + memory);
}
