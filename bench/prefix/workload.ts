// What the prefix benchmark sends: four applications, each with a long system prompt of its own
// (two of them agents with a tool set as well), and conversations of those applications started
// at seeded random moments. A conversation is a closed loop: each request resends the whole history
// (system prompt, tools, every earlier message and answer) plus what came since, and the next one
// leaves when the answer is in and the user has thought (or the tool has run). Everything is drawn
// from fixed seeds, so every policy of a run sends the same conversations at the same moments; the
// answers are the simulator's, which depend only on the prompt, so the histories are the same too.
import { intBetween, mulberry32 } from '../../src/sim/rng.js';
import { prose, toolSet } from './texts.js';

export type Kind = 'chat' | 'agent';
type Range = readonly [number, number];

/** Sizes in words, about tokens each (texts.ts); times in ms. bench/README.md says why each. */
export const SHAPE = {
  systemWords: [350, 550] as Range,
  toolsPerSet: 8,
  /** A chat opens with a document pasted into its first message, then asks about it. */
  chatDocumentWords: [300, 700] as Range,
  chatMessageWords: [30, 120] as Range,
  agentTaskWords: [40, 120] as Range,
  /** What a tool returns (a file, search hits): the bulk of an agent's history. */
  toolResultWords: [300, 900] as Range,
  /** The harness's word after the agent's own remark, before its next tool call. */
  nudgeWords: [5, 15] as Range,
  chatRequests: [5, 8] as Range,
  /** An agent's step is two requests: the tool call, then its remark on the result. */
  agentSteps: [4, 7] as Range,
  chatThinkMs: [300, 900] as Range,
  agentThinkMs: [100, 400] as Range,
  answerTokens: [16, 32] as Range,
  /** Room for a tool call's arguments (~20 tokens with these tools): it ends on its own. */
  callTokens: 48,
  agentShare: 0.5,
} as const;

export interface App {
  id: string;
  kind: Kind;
  system: string;
  tools?: Array<Record<string, unknown>>;
}

const APP_SEED = 1_400;

/** Two chat applications and two agents, the same in every run. */
export function apps(): App[] {
  const rand = mulberry32(APP_SEED);
  const system = () => prose(rand, intBetween(rand, ...SHAPE.systemWords));
  return [
    { id: 'support', kind: 'chat', system: system() },
    { id: 'writer', kind: 'chat', system: system() },
    { id: 'coder', kind: 'agent', system: system(), tools: toolSet(rand, 'repo', SHAPE.toolsPerSet) },
    { id: 'analyst', kind: 'agent', system: system(), tools: toolSet(rand, 'data', SHAPE.toolsPerSet) },
  ];
}

export interface ConversationPlan {
  index: number;
  app: App;
  /** When its first request leaves, ms after the run's start. */
  startMs: number;
  /** Model calls it makes. */
  requests: number;
  /** Seed of its own draws: messages, tool results, think times, answer lengths. */
  seed: number;
}

const SEED = 14;

/**
 * `count` conversations starting at uniform random moments within `startSeconds` (a Poisson
 * process with that many arrivals), half chats and half agents, each cut to `maxRequests` (--quick).
 */
export function conversations(count: number, startSeconds: number, maxRequests = Number.POSITIVE_INFINITY, seed = SEED): ConversationPlan[] {
  const rand = mulberry32(seed);
  const all = apps();
  const chats = all.filter((a) => a.kind === 'chat');
  const agents = all.filter((a) => a.kind === 'agent');
  const out: ConversationPlan[] = [];
  for (let i = 0; i < count; i++) {
    const agent = rand() < SHAPE.agentShare;
    const pool = agent ? agents : chats;
    const app = pool[intBetween(rand, 0, pool.length - 1)]!;
    const requests = agent ? 2 * intBetween(rand, ...SHAPE.agentSteps) : intBetween(rand, ...SHAPE.chatRequests);
    out.push({ index: i, app, startMs: rand() * startSeconds * 1000, requests: Math.min(requests, maxRequests), seed: Math.floor(rand() * 0x100000000) });
  }
  return out.sort((a, b) => a.startMs - b.startMs);
}

type Rand = () => number;
const between = (rand: Rand, r: Range) => intBetween(rand, r[0], r[1]);

/** The first user message: a chat's document and question, or an agent's task. */
export function openingMessage(rand: Rand, app: App): string {
  if (app.kind === 'agent') return prose(rand, between(rand, SHAPE.agentTaskWords));
  return `${prose(rand, between(rand, SHAPE.chatDocumentWords))}\n\n${prose(rand, between(rand, SHAPE.chatMessageWords))}`;
}

/** What the user (chat) or the harness (agent, after the agent's remark) says next. */
export function nextMessage(rand: Rand, app: App): string {
  return prose(rand, between(rand, app.kind === 'chat' ? SHAPE.chatMessageWords : SHAPE.nudgeWords));
}

export function toolResult(rand: Rand): string {
  return prose(rand, between(rand, SHAPE.toolResultWords));
}

export function thinkMs(rand: Rand, app: App): number {
  return between(rand, app.kind === 'chat' ? SHAPE.chatThinkMs : SHAPE.agentThinkMs);
}

/** An agent asked for a tool call gets room for its arguments; every other answer is short. */
export function maxTokens(rand: Rand, toolCall: boolean): number {
  return toolCall ? SHAPE.callTokens : between(rand, SHAPE.answerTokens);
}
