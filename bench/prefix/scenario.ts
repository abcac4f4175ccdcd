// `npm run bench -- --scenario prefix`: the same conversations three times, routed round-robin,
// least-loaded and prefix-aware, each on four fresh simulators and a fresh gateway so every run
// starts with cold caches; then the table, the targets and the JSON.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from 'undici';
import { openFileLimit } from '../memory.js';
import { runHeader } from '../overload/report.js';
import { streamRequest } from '../overload/stream-request.js';
import { cacheBetween, readCache } from './cache-metrics.js';
import { DEPLOYMENTS } from './engine.js';
import { deploymentIds, freshKey, modelPicker, POLICIES, type Policy } from './gateway-config.js';
import { runConversations } from './load.js';
import type { PrefixOptions } from './options.js';
import { renderPrefix, writePrefixJson, type PrefixReport } from './report.js';
import { assertPolicyAlive, startPolicyServers, stopPolicyServers, type PolicyServers } from './servers.js';
import { summarizePolicy, type PolicySummary } from './summary.js';
import { evaluatePrefixTargets } from './targets.js';
import { conversations, type ConversationPlan } from './workload.js';

type Progress = (message: string) => void;

/** Errors (not slowness): over this share of a run, its numbers mean nothing. */
const MAX_FAILED_SHARE = 0.01;

/**
 * One short request straight to each simulator, and one through the gateway per model name,
 * before the load: a simulator loads its tokenizer on its first prompt (a few hundred ms), which
 * would otherwise land on the first conversation each serves. Too short to fill a block of the
 * gateway's index (256 characters), and the cache counters are read after it.
 */
async function warmUp(s: PolicyServers, apiKey: string, policy: Policy): Promise<void> {
  const dispatcher = new Agent({ connections: 1 });
  const signal = new AbortController().signal;
  const model = modelPicker(policy, DEPLOYMENTS);
  const urls = [...s.sims.map((x) => x.url), ...Array.from({ length: policy === 'round-robin' ? DEPLOYMENTS : 1 }, () => s.gateway.url)];
  try {
    for (const [i, origin] of urls.entries()) {
      const body = JSON.stringify({ model: model(), messages: [{ role: 'user', content: `Warm up ${i}.` }], max_tokens: 1, stream: true });
      const o = await streamRequest({ dispatcher, url: `${origin}/v1/chat/completions`, apiKey, body, signal });
      if (o.ending !== 'completed') throw new Error(`${policy}: warm-up request to ${origin} failed: ${o.status ?? 'no answer'} ${o.code ?? ''}`);
    }
  } finally {
    await dispatcher.close();
  }
}

async function runPolicy(dir: string, policy: Policy, plans: readonly ConversationPlan[], apiKey: string, o: PrefixOptions, progress: Progress): Promise<PolicySummary> {
  const s = await startPolicyServers(dir, policy, apiKey);
  try {
    await warmUp(s, apiKey, policy);
    const before = await Promise.all(s.sims.map((x) => readCache(x.url)));
    progress(`${policy}: ${plans.length} conversations over ${o.startSeconds} s`);
    const load = await runConversations(plans, s.gateway.url, apiKey, modelPicker(policy, DEPLOYMENTS), o.deadlineSeconds);
    assertPolicyAlive(s);
    const after = await Promise.all(s.sims.map((x) => readCache(x.url)));
    const summary = summarizePolicy(policy, load, deploymentIds(DEPLOYMENTS), before.map((b, i) => cacheBetween(b, after[i]!)));
    if (summary.failed > MAX_FAILED_SHARE * summary.sent) {
      const why = Object.entries(summary.failureCodes).map(([k, n]) => `${k} ×${n}`).join(', ');
      throw new Error(`${policy}: ${summary.failed} of ${summary.sent} requests failed (${why}); see ${s.gateway.logFile}`);
    }
    progress(`${policy}: ${summary.completed} requests in ${(summary.elapsedMs / 1000).toFixed(1)} s; TTFT p50 ${Math.round(summary.ttftP50.ms)} ms, p95 ${Math.round(summary.ttftP95.ms)} ms; hit rate ${summary.cache.hitRate.toFixed(2)}; busiest deployment ${summary.maxOverMean.toFixed(2)} × mean`);
    return summary;
  } finally {
    await stopPolicyServers(s);
  }
}

export async function runPrefix(o: PrefixOptions, progress: Progress): Promise<void> {
  const started = performance.now();
  // Every request in flight holds a client socket and an upstream one.
  const needFiles = 4 * o.conversations + 256;
  if (openFileLimit() < needFiles) throw new Error(`the open-file limit is ${openFileLimit()}; the prefix run may need ${needFiles}: run \`ulimit -n ${needFiles}\` first`);
  const dir = mkdtempSync(join(tmpdir(), 'sluice-prefix-'));
  progress(`prefix: logs in ${dir}`);
  const plans = conversations(o.conversations, o.startSeconds, o.maxRequests);
  const apiKey = freshKey();
  const policies: PolicySummary[] = [];
  for (const policy of POLICIES) policies.push(await runPolicy(dir, policy, plans, apiKey, o, progress));

  const agents = plans.filter((p) => p.app.kind === 'agent').length;
  const report: PrefixReport = {
    ...runHeader(started, o.quick),
    conversations: { all: plans.length, chat: plans.length - agents, agent: agents },
    startSeconds: o.startSeconds,
    maxRequests: o.maxRequests,
    deadlineSeconds: o.deadlineSeconds,
    policies,
    targets: evaluatePrefixTargets(policies.find((p) => p.policy === 'round-robin')!, policies.find((p) => p.policy === 'prefix-aware')!),
  };
  report.elapsedSeconds = Math.round((performance.now() - started) / 100) / 10;
  process.stdout.write(renderPrefix(report));
  writePrefixJson(o.jsonPath, report);
  progress(`prefix done in ${report.elapsedSeconds} s; results in ${o.jsonPath}`);
  rmSync(dir, { recursive: true, force: true });
}
