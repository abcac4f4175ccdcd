// The results twice: a table for people (stdout) and a JSON file for machines.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { MetricSummary, Unit } from './metrics.js';
import type { TargetOutcome } from './targets.js';

export interface RunInfo {
  startedAt: string;
  elapsedSeconds: number;
  node: string;
  cpus: number;
  rounds: number;
  secondsPerRun: number;
  quick: boolean;
  memoryStreams: number;
  memoryHoldMs: number;
  /** prefixBlocks() on the long chat body, timed in the benchmark's own process (long-chat.ts). */
  prefixHash: { micros: number; blocks: number; bytes: number };
  /** Successful gateway requests seen by the benchmark, and what the gateway's metrics and ledger counted. */
  bookkeeping: {
    gatewayRequestsOk: number;
    metricsCounted: number;
    ledgerRows: number;
    /** The Redis-limited gateway: requests answered, and the script calls Redis ran meanwhile. */
    redis?: { requests: number; scriptCalls: number };
  };
}

function num(v: number, unit: Unit): string {
  if (!Number.isFinite(v)) return 'n/a';
  if (unit === 'req/s') return Math.round(v).toLocaleString('en-US');
  if (unit === 'MB') return v.toFixed(1);
  return v < 10 ? v.toFixed(2) : v.toFixed(1);
}

function signed(v: number, unit: Unit): string {
  return Number.isFinite(v) ? `${v >= 0 ? '+' : '−'}${num(Math.abs(v), unit)}` : 'n/a';
}

/** Throughput: the ratio alone. Latency and memory: the ratio and, in brackets, what the gateway adds. */
function ratioCell(ratio: number, added: number, unit: Unit): string {
  const r = Number.isFinite(ratio) ? ratio.toFixed(2) : 'n/a';
  return unit === 'req/s' ? r : `${r} (${signed(added, unit)})`;
}

function pad(cells: string[], widths: number[]): string {
  return cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
}

function targetValue(t: TargetOutcome): string {
  if (!Number.isFinite(t.value)) return 'n/a';
  if (t.unit === '×') return `${t.value.toFixed(2)} ×`;
  if (t.unit === 'ms') return `${signed(t.value, 'ms')} ms`;
  return `${t.value.toFixed(1)} MB`;
}

/** What rate limits add per request: the limited rows against the unlimited gateway's. */
function limitCosts(metrics: readonly MetricSummary[], redis: RunInfo['bookkeeping']['redis']): string[] {
  const gw = (id: string) => metrics.find((m) => m.id === id)?.median.gateway ?? Number.NaN;
  const lines = ['', 'Rate limits against the unlimited gateway (same run):'];
  const share = (limited: number, plain: number) => (Number.isFinite(limited / plain) ? `${(limited / plain).toFixed(2)} ×` : 'n/a');
  lines.push(`  limits in memory: req/s at 50 conn ${share(gw('rl_memory_c50_rps'), gw('json_c50_rps'))} the unlimited key's`);
  if (!redis) return [...lines, '  limits in Redis: not run (no Redis)'];
  const added = gw('rl_redis_c1_p50') - gw('json_c1_p50');
  lines.push(`  limits in Redis: p50 at 1 conn ${signed(added, 'ms')} ms per request; req/s at 50 conn ${share(gw('rl_redis_c50_rps'), gw('json_c50_rps'))} the unlimited key's`);
  const perRequest = redis.requests > 0 ? (redis.scriptCalls / redis.requests).toFixed(2) : 'n/a';
  lines.push(`  Redis ran ${redis.scriptCalls.toLocaleString('en-US')} script calls for ${redis.requests.toLocaleString('en-US')} requests: ${perRequest} a request (checks of one event-loop pass share a call, token corrections go out every 20 ms; each request waits for one round trip)`);
  return lines;
}

/** The Responses API beside chat completions: the same requests, on the same gateway, same run. */
function responsesCosts(metrics: readonly MetricSummary[]): string[] {
  const gw = (id: string) => metrics.find((m) => m.id === id)?.median.gateway ?? Number.NaN;
  const share = (a: number, b: number) => (Number.isFinite(a / b) ? `${(a / b).toFixed(2)} ×` : 'n/a');
  return [
    '',
    'Responses API against chat completions (same gateway, same run):',
    `  non-streaming req/s at 50 conn ${share(gw('responses_json_c50_rps'), gw('json_c50_rps'))} chat's; streams/s ${share(gw('responses_stream_c50_rps'), gw('stream_c50_rps'))} chat's`,
  ];
}

/** What prefix-aware routing adds per request: the two long-chat rows, and the hashing alone. */
function prefixCosts(metrics: readonly MetricSummary[], hash: RunInfo['prefixHash']): string[] {
  const gw = (id: string) => metrics.find((m) => m.id === id)?.median.gateway ?? Number.NaN;
  const aware = gw('long_pa_c50_rps');
  const plain = gw('long_ll_c50_rps');
  // At 50 connections the gateway's CPU is the bottleneck, so 1/req/s is its time per request.
  const addedMicros = (1 / aware - 1 / plain) * 1e6;
  const ratio = Number.isFinite(aware / plain) ? `${(aware / plain).toFixed(2)} ×` : 'n/a';
  return [
    '',
    'Prefix-aware routing against least-loaded (same run, same ~6 KB body):',
    `  req/s at 50 conn ${ratio} least-loaded's (${signed(addedMicros, 'ms')} µs of gateway time per request, from 1/req/s)`,
    `  hashing alone: ${hash.micros.toFixed(1)} µs per request (${hash.blocks} blocks of a ${hash.bytes.toLocaleString('en-US')}-byte body, this process)`,
  ];
}

export function renderTable(info: RunInfo, metrics: readonly MetricSummary[], targets: readonly TargetOutcome[]): string {
  const widths = [38, 10, 10, 10, 15, 15];
  const lines = [
    `Sluice load benchmark: ${info.rounds} round(s) × ${info.secondsPerRun} s per run${info.quick ? ' (--quick)' : ''}, node ${info.node}, ${info.cpus} CPUs, ${info.startedAt}`,
    'Medians over the rounds. gw/direct and gw/proxy: gateway ÷ the other; (±x): what the gateway adds.',
    '',
    pad(['', 'direct', 'proxy', 'gateway', 'gw/direct', 'gw/proxy'], widths),
  ];
  let group = '';
  for (const m of metrics) {
    if (m.group !== group) {
      group = m.group;
      lines.push(group);
    }
    lines.push(pad([
      m.unit === 'req/s' ? `  ${m.label}` : `  ${m.label} (${m.unit})`,
      num(m.median.direct, m.unit),
      num(m.median.proxy, m.unit),
      num(m.median.gateway, m.unit),
      ratioCell(m.ratio.toDirect, m.added.overDirect, m.unit),
      ratioCell(m.ratio.toProxy, m.added.overProxy, m.unit),
    ], widths));
  }
  const b = info.bookkeeping;
  lines.push('', `Gateway bookkeeping: ${b.gatewayRequestsOk.toLocaleString('en-US')} requests answered correctly; metrics counted ${b.metricsCounted.toLocaleString('en-US')}, ledger rows ${b.ledgerRows.toLocaleString('en-US')}.`);
  if (b.metricsCounted < b.gatewayRequestsOk) lines.push('  WARNING: the metrics missed requests: the gateway did not do all of its per-request work.');
  if (b.ledgerRows < b.gatewayRequestsOk) lines.push('  WARNING: the ledger missed requests: the gateway did not do all of its per-request work.');
  lines.push(...limitCosts(metrics, b.redis));
  lines.push(...responsesCosts(metrics));
  lines.push(...prefixCosts(metrics, info.prefixHash));
  lines.push('', 'Targets (gateway, against the same run)');
  for (const t of targets) lines.push(`  ${t.description.padEnd(50)} ${targetValue(t).padStart(10)}   ${t.met ? 'met' : 'MISSED'}`);
  const missed = targets.filter((t) => !t.met).length;
  lines.push('', missed === 0 ? 'All targets met.' : `${missed} of ${targets.length} targets MISSED (a noisy machine moves these; rerun before concluding).`);
  return `${lines.join('\n')}\n`;
}

export function writeJson(path: string, info: RunInfo, metrics: readonly MetricSummary[], targets: readonly TargetOutcome[]): void {
  mkdirSync(dirname(path), { recursive: true });
  const doc = { schema: 'sluice-bench/1', run: info, metrics, targets, allTargetsMet: targets.every((t) => t.met) };
  // NaN (a metric with no samples) is not JSON: it becomes null.
  writeFileSync(path, `${JSON.stringify(doc, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`);
}
