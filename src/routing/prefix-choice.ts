// Prefix-aware choice among deployments that can serve now (balancer.ts filtered them): send a
// prompt where its prefix is probably cached, unless that deployment is loaded past the bound.
//
// Expected time to first token is prefill of what the engine lacks plus the wait behind what it
// has in flight. Rather than guess both costs (they depend on the model, the GPU and the prompt),
// the choice keeps them apart, as consistent hashing with bounded loads does (Mirrokni, Thorup
// and Zadimoghaddam, SODA 2018): a deployment is eligible while its load (this replica's requests
// in flight plus the engine's own queue, per unit of weight) stays within (1 + ε) of the mean
// with this request counted, or within a few requests of it when the mean is small; among the eligible, the one holding the longest prefix wins. With
// no prefix known anywhere (a conversation's first turn), the deployments are ranked by
// rendezvous hashing (Thaler and Ravishankar, 1998) of the conversation's key (its text up to the
// first user message, prefix-blocks.ts), and the first
// eligible one in that order takes it: every gateway replica ranks alike without sharing state,
// so the conversation's later turns, on whichever replica, go to the same place, and load past
// the bound spills to the next in the ranking instead of making a hot spot.
import { inFlightOf, loadOf, saturated } from './balancer.js';
import type { PromptPrefix } from './prefix-blocks.js';
import type { PrefixIndex } from './prefix-index.js';
import type { Deployment } from './registry.js';

/** ε: a deployment may carry up to 25% more than the mean before affinity gives way. */
export const LOAD_SLACK = 0.25;
/** A 32-bit mix of two numbers (murmur3's finalizer over their combination): the rendezvous score. */
function mix(key: number, salt: number): number {
  let h = (Math.imul(key ^ (key / 0x100000000), 0x9e3779b1) ^ salt) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/** A stable 32-bit number per deployment id (FNV-1a). */
const idSalts = new Map<string, number>();
function saltOf(id: string): number {
  let s = idSalts.get(id);
  if (s === undefined) {
    s = 0x811c9dc5;
    for (let i = 0; i < id.length; i++) s = Math.imul(s ^ id.charCodeAt(i), 0x01000193) >>> 0;
    if (idSalts.size < 100_000) idSalts.set(id, s);
  }
  return s;
}

/** Deployments in rendezvous order for this key: highest weighted score first (stable across replicas). */
export function rendezvousOrder(pool: readonly Deployment[], key: number): Deployment[] {
  // Weighted rendezvous (Schindelhauer and Schomaker, 2005): score = −w / ln(u), u in (0, 1).
  const scored = pool.map((d) => {
    const u = (mix(key, saltOf(d.config.id)) + 0.5) / 0x100000000;
    return { d, score: -d.weight / Math.log(u) };
  });
  scored.sort((a, b) => b.score - a.score || (a.d.config.id < b.d.config.id ? -1 : 1));
  return scored.map((s) => s.d);
}

/**
 * Requests a deployment may carry beyond its share whatever the share: with few requests in flight
 * (short answers, a few per deployment), 25% of the share is less than one request and ordinary
 * fluctuation would move conversations off their cache for nothing; a moved turn re-prefills its
 * whole history. Measured with `npm run bench -- --scenario prefix` (bench/README.md): 3 keeps
 * ~98% of turns on their deployment and the busiest within 1.3 × the mean.
 */
export const LOAD_FLOOR = 3;

/** Whether `d` may take one more request without passing (1 + ε) × its weighted share (or share + floor). */
function withinBound(d: Deployment, total: number, totalWeight: number): boolean {
  const share = ((total + 1) * d.weight) / totalWeight;
  return inFlightOf(d) + 1 <= Math.max(Math.ceil((1 + LOAD_SLACK) * share), Math.ceil(share) + LOAD_FLOOR);
}

export function choosePrefixAware(pool: readonly Deployment[], prefix: PromptPrefix, index: PrefixIndex): Deployment {
  const { blocks } = prefix;
  // An engine past its own queue threshold is left out while another can serve.
  const open = pool.some((d) => !saturated(d)) ? pool.filter((d) => !saturated(d)) : pool;
  let total = 0;
  let totalWeight = 0;
  for (const d of open) {
    total += inFlightOf(d);
    totalWeight += d.weight;
  }
  const ranked = rendezvousOrder(open, prefix.key);
  let best: Deployment | undefined;
  // A deployment holding no more than the conversation's opening (a system prompt many share) is
  // no home for it: that alone would send every new conversation to the first one that saw it.
  let bestMatched = prefix.keyBlocks;
  let firstEligible: Deployment | undefined;
  for (const d of ranked) {
    if (!withinBound(d, total, totalWeight)) continue;
    firstEligible ??= d;
    const m = blocks.length <= prefix.keyBlocks ? 0 : index.matched(blocks, d.config.id);
    // Strictly longer only: on a tie the rendezvous order (earlier) wins, so replicas agree.
    if (m > bestMatched) {
      best = d;
      bestMatched = m;
    }
  }
  // Every one past the bound cannot happen (the mean is within it); kept for safety: least loaded.
  return best ?? firstEligible ?? ranked.reduce((a, b) => (loadOf(b) < loadOf(a) ? b : a));
}
