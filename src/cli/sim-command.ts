// `sluice sim`: the simulated engine as a standalone OpenAI-compatible server, with a flag for
// each scalar simulator setting. The flags are checked by the same schema as a config file's
// `sim:` block (simSettingsSchema), so the CLI and the config accept exactly the same values; a
// refused value names its flag and exits 2, as a bad config file does.
import { Option, InvalidArgumentError, type Command } from 'commander';
import { simSettingsSchema, type SimSettings } from '../config/schema.js';
import { startSimServer } from '../sim/sim-server.js';

/** The schema's defaults, shown in --help (never restated here, so they cannot drift). */
const D = simSettingsSchema.parse({});

/** A flag's value as a number; the schema then decides whether it must be whole, ≥ 0, and so on. */
function number(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError('expected a number');
  return n;
}

/** MIN-MAX, e.g. 16-64 (a single N means N-N). */
function range(value: string): { min: number; max: number } {
  const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(value);
  if (!m) throw new InvalidArgumentError('expected MIN-MAX, e.g. 16-64');
  const min = Number(m[1]);
  return { min, max: m[2] === undefined ? min : Number(m[2]) };
}

interface SimFlags {
  port: string;
  host: string;
  faultHeader: boolean;
  ttftMs?: number;
  itlMs?: number;
  prefillMsPerToken?: number;
  kneeSeqs?: number;
  stepGrowth?: number;
  kvCacheTokens?: number;
  prefixCacheBlocks?: number;
  blockTokens?: number;
  maxNumSeqs?: number;
  maxQueue?: number;
  seed?: number;
  outputTokens?: { min: number; max: number };
  outputTokensMin?: number;
  outputTokensMax?: number;
  slowFirstTokenMs?: number;
  adapterLoadMs?: number;
  failAdapters?: string[];
}

/** Where each setting comes from on the command line, to name the flag in an error. */
const FLAG_OF: Record<string, string> = {
  ttftMs: '--ttft-ms',
  itlMs: '--itl-ms',
  prefillMsPerToken: '--prefill-ms-per-token',
  'load.kneeSeqs': '--knee-seqs',
  'load.stepGrowth': '--step-growth',
  kvCacheTokens: '--kv-cache-tokens',
  'prefixCache.maxBlocks': '--prefix-cache-blocks',
  'prefixCache.blockTokens': '--block-tokens',
  maxNumSeqs: '--max-num-seqs',
  maxQueue: '--max-queue',
  seed: '--seed',
  'outputTokens.min': '--output-tokens-min',
  'outputTokens.max': '--output-tokens-max',
  slowFirstTokenMs: '--slow-first-token-ms',
  adapterLoadMs: '--adapter-load-ms',
  failAdapters: '--fail-adapters',
};

/** PATTERN,PATTERN: adapter sources whose load fails (`*` any run of characters). */
function patterns(value: string): string[] {
  const list = value.split(',').map((p) => p.trim()).filter((p) => p !== '');
  if (list.length === 0) throw new InvalidArgumentError('expected PATTERN,PATTERN, e.g. \'*broken*,/srv/loras/old-*\'');
  return list;
}

/** Only the settings given on the command line: the schema fills in the rest with its defaults. */
function settingsFrom(o: SimFlags): Record<string, unknown> {
  const s: Record<string, unknown> = {};
  const put = (key: string, v: unknown) => {
    if (v !== undefined) s[key] = v;
  };
  put('ttftMs', o.ttftMs);
  put('itlMs', o.itlMs);
  put('prefillMsPerToken', o.prefillMsPerToken);
  if (o.kneeSeqs !== undefined || o.stepGrowth !== undefined) {
    s.load = { ...(o.kneeSeqs !== undefined && { kneeSeqs: o.kneeSeqs }), ...(o.stepGrowth !== undefined && { stepGrowth: o.stepGrowth }) };
  }
  put('kvCacheTokens', o.kvCacheTokens);
  if (o.prefixCacheBlocks !== undefined || o.blockTokens !== undefined) {
    s.prefixCache = { ...(o.prefixCacheBlocks !== undefined && { maxBlocks: o.prefixCacheBlocks }), ...(o.blockTokens !== undefined && { blockTokens: o.blockTokens }) };
  }
  put('maxNumSeqs', o.maxNumSeqs);
  put('maxQueue', o.maxQueue);
  put('seed', o.seed);
  put('slowFirstTokenMs', o.slowFirstTokenMs);
  put('adapterLoadMs', o.adapterLoadMs);
  put('failAdapters', o.failAdapters);
  if (o.outputTokens !== undefined || o.outputTokensMin !== undefined || o.outputTokensMax !== undefined) {
    // One bound alone keeps the default of the other (outputTokens is one object in the schema).
    s.outputTokens = o.outputTokens ?? { min: o.outputTokensMin ?? D.outputTokens.min, max: o.outputTokensMax ?? D.outputTokens.max };
  }
  return s;
}

/** The settings, or the first problem as "FLAG: message" (FLAG as the user typed it). */
export function parseSimFlags(o: SimFlags): { settings: SimSettings } | { flag: string; value: string; message: string } {
  const given = settingsFrom(o);
  const r = simSettingsSchema.safeParse(given);
  const rangeFlag = (bound: string) => (o.outputTokens !== undefined ? '--output-tokens' : FLAG_OF[`outputTokens.${bound}`]!);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const path = issue.path.map(String).join('.');
    const flag = path.startsWith('outputTokens.') ? rangeFlag(path.slice('outputTokens.'.length)) : path.startsWith('failAdapters') ? FLAG_OF.failAdapters! : FLAG_OF[path] ?? path;
    const value = issue.path.reduce<unknown>((v, k) => (v as Record<PropertyKey, unknown> | undefined)?.[k], given);
    return { flag, value: String(value), message: issue.message };
  }
  // The schema lets min exceed max (the generator swaps them); on the command line it is a typo.
  // Named by the flag the user typed (a bound not given keeps its default).
  const { min, max } = r.data.outputTokens;
  if (min > max) {
    const message = `the minimum (${min}) is above the maximum (${max})`;
    if (o.outputTokens !== undefined) return { flag: '--output-tokens', value: `${min}-${max}`, message };
    return o.outputTokensMin !== undefined
      ? { flag: '--output-tokens-min', value: String(min), message: o.outputTokensMax === undefined ? `${message}, the default maximum` : message }
      : { flag: '--output-tokens-max', value: String(max), message: `the maximum (${max}) is below the minimum (${min}), the default minimum` };
  }
  return { settings: r.data };
}

/** Registers `sluice sim`; `port` is the CLI's port-number parser. */
export function registerSimCommand(program: Command, port: (value: string) => string): void {
  const cmd = program
    .command('sim')
    .description('run the simulated engine as a standalone OpenAI-compatible server (any model name)')
    .option('-p, --port <port>', 'port (0: a free one)', port, '8000')
    .option('--host <host>', 'host', '127.0.0.1')
    .option('--fault-header', 'obey the x-sluice-fault request header', false)
    .option('--ttft-ms <ms>', `fixed part of the time to first token, spent outside the batch (default ${D.ttftMs})`, number)
    .option('--itl-ms <ms>', `decode step time with one sequence: a lone request's inter-token latency (default ${D.itlMs})`, number)
    .option('--prefill-ms-per-token <ms>', `prefill cost per prompt token not in the prefix cache; it stalls the step it joins (default ${D.prefillMsPerToken})`, number)
    .option('--knee-seqs <n>', `batch size past which a step is compute-bound and grows linearly (default ${D.load.kneeSeqs})`, number)
    .option('--step-growth <x>', `step slowdown per extra sequence below the knee (default ${D.load.stepGrowth})`, number)
    .option('--kv-cache-tokens <n>', `KV-cache capacity in tokens, for vllm:gpu_cache_usage_perc (default ${D.kvCacheTokens})`, number)
    .option('--prefix-cache-blocks <n>', 'prefix-cache blocks kept, least recently used evicted; 0 turns the cache off (default: --kv-cache-tokens / --block-tokens)', number)
    .option('--block-tokens <n>', `tokens per prefix-cache block (default ${D.prefixCache.blockTokens}, as vLLM)`, number)
    .option('--max-num-seqs <n>', `sequences generated at once; more wait in the engine queue (default ${D.maxNumSeqs})`, number)
    .option('--max-queue <n>', `engine queue length beyond which requests get 503 (default ${D.maxQueue})`, number)
    .option('--seed <n>', `seed of the generated text and lengths (default ${D.seed})`, number)
    .addOption(new Option('--output-tokens <min-max>', `answer length when a request sets no max_tokens (default ${D.outputTokens.min}-${D.outputTokens.max})`).argParser(range).conflicts(['outputTokensMin', 'outputTokensMax']))
    .option('--output-tokens-min <n>', 'the same, its minimum only', number)
    .option('--output-tokens-max <n>', 'the same, its maximum only', number)
    .option('--slow-first-token-ms <ms>', `how long the slow-first-token fault delays the first token (default ${D.slowFirstTokenMs})`, number)
    .option('--adapter-load-ms <ms>', `how long loading a LoRA adapter takes (default ${D.adapterLoadMs})`, number)
    .option('--fail-adapters <patterns>', "adapter sources whose load fails, comma-separated; * matches any run of characters (e.g. '*broken*,/srv/old-*')", patterns)
    // A usage error is exit 2 (as a bad config file is), not commander's default 1; help stays 0.
    .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2))
    .action(async (opts: SimFlags) => {
      const parsed = parseSimFlags(opts);
      if ('flag' in parsed) cmd.error(`error: option '${parsed.flag}' argument '${parsed.value}' is invalid. ${parsed.message}`, { exitCode: 2, code: 'commander.invalidArgument' });
      else await start(opts, parsed.settings);
    });
}

async function start(opts: SimFlags, settings: SimSettings): Promise<void> {
  const sim = await startSimServer({ port: Number(opts.port), host: opts.host, faultHeader: opts.faultHeader, settings });
  process.stdout.write(`sluice sim listening on ${sim.url}\n`);
  const stop = () => void sim.close().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
