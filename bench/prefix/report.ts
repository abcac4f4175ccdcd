// The prefix benchmark's results twice: a table for people (stdout) and JSON for machines.
import type { Bounded } from '../overload/summary.js';
import { targetLine, writeResultsJson, type RunHeader } from '../overload/report.js';
import type { OverloadTarget } from '../overload/targets.js';
import { DEPLOYMENTS, ENGINE } from './engine.js';
import type { PolicySummary } from './summary.js';
import { apps, SHAPE } from './workload.js';

export interface PrefixReport extends RunHeader {
  conversations: { all: number; chat: number; agent: number };
  startSeconds: number;
  /** --quick cuts every conversation to this many requests. */
  maxRequests: number | undefined;
  deadlineSeconds: number;
  policies: PolicySummary[];
  targets: OverloadTarget[];
}

const int = (v: number) => (Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : 'n/a');
const bounded = (b: Bounded) => (Number.isFinite(b.ms) ? `${b.atLeast ? '≥ ' : ''}${int(b.ms)}` : 'n/a');
const fixed = (v: number, digits: number) => (Number.isFinite(v) ? v.toFixed(digits) : 'n/a');
const range = (r: readonly [number, number]) => `${r[0]}-${r[1]}`;

const WIDTHS = [14, 5, 9, 6, 10, 8, 8, 6, 6, 8, 8, 8, 7];

function row(cells: string[]): string {
  return cells.map((c, i) => (i === 0 ? c.padEnd(WIDTHS[i]!) : c.padStart(WIDTHS[i]!))).join('  ').trimEnd();
}

function policyRow(p: PolicySummary): string {
  return row([p.policy, String(p.sent), String(p.completed), String(p.failed), String(p.unfinished), bounded(p.ttftP50), bounded(p.ttftP95), fixed(p.requestsPerS, 1), int(p.tokensPerS), fixed(p.cache.hitRate, 2), fixed(p.sameAsPrevious, 2), fixed(p.maxOverMean, 2), fixed(p.prefillBusy, 2)]);
}

function spreadLine(p: PolicySummary): string {
  const each = p.deployments.map((d) => `${d.id} ${d.requests} (${fixed(d.promptTokens / 1000, 0)}k tok, hit ${fixed(d.hitRate, 2)})`);
  return `  ${p.policy.padEnd(13)} ${each.join('   ')}`;
}

/** The shared openings' sizes, from the texts themselves: "2.0-2.7 KB". */
function kbRange(texts: readonly string[]): string {
  const kb = texts.map((t) => t.length / 1024);
  return `${Math.min(...kb).toFixed(1)}-${Math.max(...kb).toFixed(1)} KB`;
}

export function renderPrefix(r: PrefixReport): string {
  const e = ENGINE;
  const first = r.policies[0]!;
  const all = apps();
  const systems = kbRange(all.map((a) => a.system));
  const tools = kbRange(all.filter((a) => a.tools).map((a) => JSON.stringify(a.tools)));
  const cut = r.maxRequests === undefined ? '' : ` (--quick: cut to ${r.maxRequests} requests each)`;
  const lines = [
    `Sluice prefix-cache routing benchmark${r.quick ? ' (--quick)' : ''}: node ${r.node}, ${r.cpus} CPUs, ${r.startedAt}, ${r.elapsedSeconds} s`,
    `Deployments: ${DEPLOYMENTS} × sluice sim: prefill ${e.prefillMsPerToken} ms per uncached prompt token (stalls the batch), prefix cache of ${e.prefixCacheBlocks.toLocaleString('en-US')} blocks × ${e.blockTokens} tokens each, ${e.itlMs} ms a decode step, ${e.ttftMs} ms fixed first-token time; each run on fresh (cold) simulators and a fresh gateway`,
    `Workload (seeded, the same for every policy): ${r.conversations.all} conversations started over ${r.startSeconds} s: ${r.conversations.chat} chats of ${range(SHAPE.chatRequests)} requests opening with a ${range(SHAPE.chatDocumentWords)}-word document, ${r.conversations.agent} agent trajectories of ${2 * SHAPE.agentSteps[0]}-${2 * SHAPE.agentSteps[1]} with tool results of ${range(SHAPE.toolResultWords)} words${cut}; ${all.length} applications, system prompts of ${systems}, the agents' ${SHAPE.toolsPerSet} tools ${tools} of JSON more; every request resends the whole history; think ${range(SHAPE.chatThinkMs)} ms (chat), ${range(SHAPE.agentThinkMs)} ms (agent); answers ${range(SHAPE.answerTokens)} tokens`,
    `Prompts averaged ${int(first.cache.queries / Math.max(1, first.completed))} tokens. Round-robin: the client names ${DEPLOYMENTS} one-deployment models in turn (the gateway has none); least-loaded and prefix-aware: the gateway's routing over one model of ${DEPLOYMENTS} deployments. Given up ${r.deadlineSeconds} s after a run's start: unfinished.`,
    '',
    row(['', 'sent', 'completed', 'failed', 'unfinished', 'TTFT p50', 'TTFT p95', 'req/s', 'tok/s', 'hit rate', 'same dep', 'max/mean', 'prefill']),
    row(['', '', '', '', '', 'ms', 'ms', '', '', '', '', 'requests', 'busy']),
    ...r.policies.map(policyRow),
    '',
    'TTFT: sending to the first streamed token (text or tool call), nearest rank; "≥": requests given up before theirs count at that moment.',
    'req/s, tok/s: completed requests and their output tokens per second of the run. hit rate: cached prompt tokens ÷ prompt tokens, the four simulators summed (vllm:prefix_cache_hits / _queries).',
    'same dep: share of a conversation\'s requests (after its first) that went where its previous one went. prefill busy: uncached tokens × prefill cost ÷ (4 × run length), the engines\' time spent prefilling.',
    '',
    'Requests per deployment (x-sluice-deployment), with the prompt tokens its cache was asked for and its hit rate:',
    ...r.policies.map(spreadLine),
  ];
  for (const p of r.policies) {
    if (p.failed > 0) lines.push(`Failed, ${p.policy}: ${Object.entries(p.failureCodes).map(([k, n]) => `${k} ${n}`).join(', ')}`);
    if (p.lateStarts > 0) lines.push(`WARNING, ${p.policy}: ${p.lateStarts} conversations started over 10 ms late (the load generator was short of CPU)`);
  }
  lines.push('', 'Targets (prefix-aware, against round-robin in the same run)');
  for (const t of r.targets) lines.push(targetLine(t));
  const missed = r.targets.filter((t) => !t.met).length;
  const why = r.quick ? '--quick cuts the conversations short and leaves round-robin below its capacity: judge the targets on a full run' : 'bench/README.md, "Reading the results", says what moves each';
  lines.push('', missed === 0 ? 'All targets met.' : `${missed} of ${r.targets.length} targets MISSED (${why}).`);
  return `${lines.join('\n')}\n`;
}

export function writePrefixJson(path: string, r: PrefixReport): void {
  writeResultsJson(path, { schema: 'sluice-bench-prefix/1', ...r, engineSettings: ENGINE, workloadShape: SHAPE, allTargetsMet: r.targets.every((t) => t.met) });
}
