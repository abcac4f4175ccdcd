// Prefix-aware routing's parts: the block chain of a prompt, the index of where prefixes were sent
// (insertion, ageing, its memory bound), and the choice (affinity, spill past the load bound,
// the same placement on every replica).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { circuitBreakerSchema } from '../src/config/schema.js';
import { BLOCK_BYTES, MAX_BLOCKS, prefixBlocks } from '../src/routing/prefix-blocks.js';
import { PrefixIndex } from '../src/routing/prefix-index.js';
import { inspectBody } from '../src/offload/inspect-body.js';
import { choosePrefixAware, rendezvousOrder } from '../src/routing/prefix-choice.js';
import { Circuit } from '../src/routing/circuit.js';
import type { Deployment } from '../src/routing/registry.js';

const text = (seed: string, chars: number) => seed.repeat(Math.ceil(chars / seed.length)).slice(0, chars);
const chat = (...contents: string[]) => ({ messages: contents.map((content, i) => ({ role: i === 0 ? 'system' : i % 2 ? 'user' : 'assistant', content })) });

test('a prompt becomes a chain of full blocks; a shared leading text shares its leading blocks, and only those', () => {
  const system = text('You are a careful assistant. ', 3 * BLOCK_BYTES);
  const turn1 = prefixBlocks(chat(system, text('What is a GPU? ', 2 * BLOCK_BYTES)), 'chat');
  const turn2 = prefixBlocks(chat(system, text('What is a GPU? ', 2 * BLOCK_BYTES), 'An accelerator.', text('And a TPU? ', BLOCK_BYTES)), 'chat');
  const first = turn1.blocks;
  const second = turn2.blocks;
  // The conversation's key: its text to the first user message, the same in every turn...
  assert.equal(turn2.key, turn1.key);
  // ...and another conversation under the same system prompt has its own.
  assert.notEqual(prefixBlocks(chat(system, 'Tell me about TPUs.'), 'chat').key, turn1.key);
  assert.ok(first.length >= 5);
  assert.deepEqual(second.slice(0, first.length - 1), first.slice(0, -1), 'the next turn begins with the same blocks');
  const other = prefixBlocks(chat(text('You are a terse assistant. ', 3 * BLOCK_BYTES), 'What is a GPU?'), 'chat').blocks;
  assert.notEqual(other[0], first[0], 'a different system prompt differs from the first block');
  // The chain: a change inside block 1 changes every block from 1 on, not block 0.
  const changed = prefixBlocks(chat(system.slice(0, BLOCK_BYTES + 10) + 'X' + system.slice(BLOCK_BYTES + 11), text('What is a GPU? ', 2 * BLOCK_BYTES)), 'chat').blocks;
  assert.equal(changed[0], first[0]);
  for (let i = 1; i < first.length; i++) assert.notEqual(changed[i], first[i], `block ${i}`);
  // Less than a block: nothing to route by. The role is part of the text.
  assert.deepEqual(prefixBlocks(chat('hi'), 'chat').blocks, []);
  assert.notDeepEqual(prefixBlocks({ messages: [{ role: 'user', content: system }] }, 'chat').blocks, prefixBlocks({ messages: [{ role: 'system', content: system }] }, 'chat').blocks);
  // Tool definitions lead, as chat templates render them.
  const tools = [{ type: 'function', function: { name: 'search', description: text('Search the web. ', 2 * BLOCK_BYTES), parameters: { type: 'object' } } }];
  assert.equal(prefixBlocks({ ...chat('a'), tools }, 'chat').blocks[0], prefixBlocks({ ...chat('b'), tools }, 'chat').blocks[0]);
  assert.equal(prefixBlocks({ prompt: text('once upon a time ', 3 * BLOCK_BYTES) }, 'completions').blocks.length, 3);
  // Bounded work: a huge prompt is hashed up to MAX_BLOCKS.
  assert.equal(prefixBlocks(chat(text('x', (MAX_BLOCKS + 50) * BLOCK_BYTES)), 'chat').blocks.length, MAX_BLOCKS);
});

test('text is hashed as UTF-8: a different non-ASCII character changes the block, the same text gives the same chain', () => {
  const a = prefixBlocks(chat(text('Café crème, s’il vous plaît. 東京 ', 2 * BLOCK_BYTES), 'hi'), 'chat');
  const b = prefixBlocks(chat(text('Cafe crème, s’il vous plaît. 東京 ', 2 * BLOCK_BYTES), 'hi'), 'chat');
  assert.ok(a.blocks.length >= 2);
  assert.notEqual(a.blocks[0], b.blocks[0]);
  assert.deepEqual(prefixBlocks(chat(text('Café crème, s’il vous plaît. 東京 ', 2 * BLOCK_BYTES), 'hi'), 'chat'), a);
});

test('a large body inspected on the offload worker comes back hashed exactly as the event loop would hash it', () => {
  const body = { model: 'm', ...chat(text('You are a careful assistant. ', 70_000), 'What is a GPU?', 'An accelerator.', 'And a TPU?') };
  const seen = inspectBody(Buffer.from(JSON.stringify(body)), 'chat');
  assert.ok('text' in seen && seen.prefix, 'a valid chat body comes back with its prefix');
  assert.deepEqual(seen.prefix, prefixBlocks(body, 'chat'));
  assert.ok(seen.prefix.blocks.length > 200);
  // Embeddings have no prompt to route by.
  const emb = inspectBody(Buffer.from(JSON.stringify({ model: 'e', input: text('word ', 70_000) })), 'embeddings');
  assert.ok('text' in emb && emb.prefix === undefined);
});

test('the index says how many leading blocks each deployment holds, forgets old entries, and stays within its bound', () => {
  let now = 0;
  const index = new PrefixIndex({ maxEntries: 100, ttlMs: 1_000 }, () => now);
  const conversation = [11, 12, 13, 14, 15, 16];
  index.record(conversation.slice(0, 4), 'a');
  assert.equal(index.matched(conversation, 'a'), 4);
  assert.equal(index.matched(conversation, 'b'), 0);
  index.record(conversation, 'b');
  assert.equal(index.matched(conversation, 'b'), 6);
  assert.equal(index.matched([11, 12, 99], 'a'), 2, 'a diverging prompt matches up to where it diverges');
  now = 1_500;
  assert.equal(index.matched(conversation, 'a'), 0, 'aged out: the engine has likely evicted it');
  for (let i = 0; i < 1_000; i++) index.record([1_000 + i], 'a');
  assert.ok(index.size <= 100, `bounded: ${index.size}`);
});

function deployment(id: string, outstanding = 0, weight = 1): Deployment {
  return {
    config: { id } as Deployment['config'],
    modelId: 'm',
    engine: {} as Deployment['engine'],
    weight,
    maintenance: false,
    outstanding,
    circuit: new Circuit(circuitBreakerSchema.parse({})),
    activeHealthy: true,
    busyUntil: 0,
    suspectUntil: 0,
  };
}

test('a prompt goes where its prefix was sent, until that deployment is past the load bound; then it spills', () => {
  const pool = [deployment('a'), deployment('b'), deployment('c'), deployment('d')];
  const index = new PrefixIndex();
  const blocks = [1, 2, 3, 4, 5];
  const prefix = { blocks, key: 42, keyBlocks: 0 };
  const c = pool[2]!;
  index.record(blocks.slice(0, 3), 'c');
  assert.equal(choosePrefixAware(pool, prefix, index), c, 'affinity');
  // A deployment holding more wins over one holding less.
  index.record(blocks, 'a');
  assert.equal(choosePrefixAware(pool, prefix, index), pool[0]);
  // a busy far past its share (8 in flight; share 2.25 with this request, bound max(⌈1.25 × 2.25⌉, ⌈2.25⌉ + 3) = 6): c, the next best holder.
  pool[0]!.outstanding = 8;
  assert.equal(choosePrefixAware(pool, prefix, index), c);
  pool[2]!.outstanding = 8;
  const spilled = choosePrefixAware(pool, prefix, index);
  assert.ok(spilled === pool[1] || spilled === pool[3], 'both holders loaded: an idle one takes it');
});

test('a first turn is placed alike on every replica, by rendezvous over its leading blocks, and conversations spread', () => {
  const replicaA = [deployment('a'), deployment('b'), deployment('c'), deployment('d')];
  const replicaB = [deployment('d'), deployment('c'), deployment('b'), deployment('a')]; // listed in another order
  const counts = new Map<string, number>();
  for (let conv = 0; conv < 400; conv++) {
    const blocks = { blocks: [], key: conv * 7919 + 1, keyBlocks: 0 };
    const onA = choosePrefixAware(replicaA, blocks, new PrefixIndex({ maxEntries: 10, ttlMs: 1_000 })).config.id;
    const onB = choosePrefixAware(replicaB, blocks, new PrefixIndex({ maxEntries: 10, ttlMs: 1_000 })).config.id;
    assert.equal(onA, onB, `conversation ${conv}`);
    counts.set(onA, (counts.get(onA) ?? 0) + 1);
  }
  for (const n of counts.values()) assert.ok(n > 60 && n < 140, `spread: ${JSON.stringify([...counts])}`);
  // Weights weigh in the ranking: a deployment of weight 3 is first for about 3/6 of the keys.
  const weighted = [deployment('a', 0, 3), deployment('b'), deployment('c'), deployment('d')];
  let first = 0;
  for (let k = 0; k < 2_000; k++) if (rendezvousOrder(weighted, k * 104_729 + 17)[0]!.config.id === 'a') first++;
  assert.ok(Math.abs(first / 2_000 - 0.5) < 0.05, `weight-3 share ${first / 2_000}`);
});

test('holding only the opening many conversations share (a system prompt) does not attract a new conversation', () => {
  const pool = [deployment('a'), deployment('b'), deployment('c'), deployment('d')];
  const index = new PrefixIndex({ maxEntries: 100, ttlMs: 60_000 });
  index.record([1, 2, 3], 'a'); // the shared system prompt, sent to a by another conversation
  for (let k = 0; k < 50; k++) {
    const prefix = { blocks: [1, 2, 3, 100 + k, 200 + k], key: 5_000 + k * 13, keyBlocks: 3 };
    assert.equal(choosePrefixAware(pool, prefix, index), rendezvousOrder(pool, prefix.key)[0], `conversation ${k}`);
  }
  // Once a conversation's own blocks are somewhere, they win over the ranking.
  index.record([1, 2, 3, 100, 200], 'd');
  assert.equal(choosePrefixAware(pool, { blocks: [1, 2, 3, 100, 200, 300], key: 5_000, keyBlocks: 3 }, index), pool[3]);
});
