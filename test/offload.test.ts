// The offload worker: counts and inspections come back right, and a flood of jobs past the cap
// is refused with the contract's 503 instead of queueing without end.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { prefixBlocks } from '../src/routing/prefix-blocks.js';
import { Offload } from '../src/offload/offload.js';
import { GatewayError } from '../src/errors/gateway-error.js';

test('counts and body inspections come back from the worker', async () => {
  const o = new Offload();
  assert.deepEqual(await o.count([['hello world'], ['a', 'b']]), [2, 2]);
  const body = '{"model":"m","messages":[{"role":"user","content":"中文 hi"}]}';
  assert.deepEqual(await o.inspect(Buffer.from(body), 'chat'), { text: body, prefix: prefixBlocks(JSON.parse(body), 'chat') }, 'a good body comes back decoded, its prompt hashed for routing');
  const problem = async (json: string, endpoint?: 'chat') => {
    const seen = await o.inspect(Buffer.from(json), endpoint);
    return 'problem' in seen ? seen.problem.code : undefined;
  };
  assert.equal(await problem('{"model":"m","messages":[]}', 'chat'), 'invalid_parameter');
  assert.equal(await problem('[1,2]'), 'invalid_json');
  assert.equal(await problem('{"__proto__":{"x":1}}'), 'invalid_json');
  assert.equal(await problem(`{"x":[${'{},'.repeat(200_000)}{}]}`), 'payload_too_large');
});

test('past the cap, new jobs are refused 503 server_overloaded; the others still finish', async () => {
  const o = new Offload(3);
  const slow = () => o.count([['中文字符测试'.repeat(20_000)]]);
  const jobs = [slow(), slow(), slow()];
  await assert.rejects(slow(), (err: unknown) => err instanceof GatewayError && err.code === 'server_overloaded' && err.retryAfterMs !== undefined);
  const counts = await Promise.all(jobs);
  assert.equal(counts.length, 3);
  assert.ok(counts.every(([n]) => n! > 0));
  assert.deepEqual(await o.count([['again']]), [1], 'room again once they are done');
  // The simulator's prompts share the thread but not the cap: an engine tokenizes what it accepted.
  const held = [slow(), slow(), slow()];
  const [prompt] = await o.tokenizePrompts([['hello world', [1, 2, 3]]], 0);
  assert.deepEqual(prompt, { textTokens: 2, blocks: [] });
  await Promise.all(held);
});
