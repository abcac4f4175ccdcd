// The byte bound that proves a prompt fits covers everything the exact count counts: generated
// chat, completions and embeddings requests, with names, tool definitions, tool calls, content
// parts and suffixes in every script, always have bound ≥ exact count.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { countPrompts, promptBound, promptsOf, type Prompt } from '../src/tokenize/prompt.js';
import type { Endpoint } from '../src/engines/types.js';
import { mulberry32 } from '../src/sim/rng.js';

// Long runs too: pieces over MAX_PIECE are counted in slices, which must still stay under the bound.
const ALPHABET = ['a', 'Z', ' ', '\n', '7', '!', 'é', '中', '😀', '"', '\\', '\u0301', '<|endoftext|>', 'a'.repeat(300), '😀'.repeat(150), '中'.repeat(200), '9'.repeat(200), '!?'.repeat(100)];

function generator(seed: number) {
  const next = mulberry32(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!;
  const text = (max: number) => Array.from({ length: Math.floor(next() * max) }, () => pick(ALPHABET)).join('');
  const toolCall = () => ({ id: text(10), type: 'function', function: { name: text(12), arguments: JSON.stringify({ q: text(30) }) } });
  const content = () => (next() < 0.5 ? text(200) : [{ type: 'text', text: text(80) }, { type: 'image_url', image_url: { url: 'https://x/y.png' } }, { type: 'text', text: text(80) }]);
  const message = () => pick([
    () => ({ role: 'system', content: content() }),
    () => ({ role: 'user', content: content(), name: text(300) }),
    () => ({ role: 'assistant', content: next() < 0.5 ? null : text(100), tool_calls: [toolCall(), toolCall()] }),
    () => ({ role: 'tool', content: text(100), tool_call_id: text(40) }),
    () => ({ role: 'function', content: text(50), name: text(20) }),
  ])();
  return {
    chat: () => ({
      messages: Array.from({ length: 1 + Math.floor(next() * 6) }, message),
      tools: next() < 0.5 ? [{ type: 'function', function: { name: text(10), description: text(200), parameters: { type: 'object', properties: { [text(8)]: { type: 'string' } } } } }] : undefined,
    }),
    completions: () => (next() < 0.5 ? { prompt: text(400), suffix: text(50) } : { prompt: [text(100), text(100)] }),
    embeddings: () => (next() < 0.5 ? { input: text(400) } : { input: [text(100), [1, 2, 3]] }),
  };
}

test('bound ≥ exact count on generated requests of every endpoint', async () => {
  const gen = generator(42);
  for (let i = 0; i < 150; i++) {
    for (const endpoint of ['chat', 'completions', 'embeddings'] as Endpoint[]) {
      const body = gen[endpoint]() as Record<string, unknown>;
      const prompts: Prompt[] = promptsOf(body, endpoint);
      const counts = await countPrompts(prompts);
      prompts.forEach((p, j) => assert.ok(promptBound(p) >= counts[j]!, `${endpoint} case ${i}: bound ${promptBound(p)} < count ${counts[j]} for ${JSON.stringify(body).slice(0, 200)}`));
    }
  }
});

test('every field that adds prompt tokens is counted: name, tool definitions, tool calls, tool call ids, content parts, suffix', async () => {
  const base = { messages: [{ role: 'user', content: 'hi' }] };
  const [plain] = await countPrompts(promptsOf(base, 'chat'));
  const withField = async (body: Record<string, unknown>) => (await countPrompts(promptsOf(body, 'chat')))[0]!;
  const long = 'word '.repeat(100);
  assert.ok((await withField({ messages: [{ role: 'user', content: 'hi', name: long }] })) >= plain! + 100, 'name');
  assert.ok((await withField({ ...base, tools: [{ type: 'function', function: { name: 'f', description: long } }] })) >= plain! + 100, 'tools');
  assert.ok((await withField({ messages: [...base.messages, { role: 'assistant', content: null, tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: long } }] }] })) >= plain! + 100, 'tool_calls');
  assert.ok((await withField({ messages: [...base.messages, { role: 'tool', content: 'ok', tool_call_id: long }] })) >= plain! + 100, 'tool_call_id');
  assert.ok((await withField({ messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }, { type: 'text', text: long }] }] })) >= plain! + 100, 'content parts');
  const [p] = await countPrompts(promptsOf({ prompt: 'hi' }, 'completions'));
  const [ps] = await countPrompts(promptsOf({ prompt: 'hi', suffix: long }, 'completions'));
  assert.ok(ps! >= p! + 100, 'suffix');
  assert.deepEqual(await countPrompts(promptsOf({ input: [[1, 2, 3], [4, 5]] }, 'embeddings')), [3, 2], 'token ids count as themselves');
});
