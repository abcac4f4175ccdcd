// Prefix-aware routing over real HTTP: two gateway replicas, sharing nothing, in front of four
// simulator deployments of one chat model. Each conversation's turns, sent alternately through
// either replica, land on one deployment; conversations spread over the deployments; and a burst
// on one conversation spills past its deployment once that one is loaded.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startSimServer, type SimServer } from '../src/sim/sim-server.js';
import { LOAD_FLOOR } from '../src/routing/prefix-choice.js';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';

const sims: SimServer[] = [];
const gateways: TestGateway[] = [];

before(async () => {
  for (let i = 0; i < 4; i++) sims.push(await startSimServer({ settings: { ttftMs: 1, itlMs: 2 } }));
  const doc = {
    models: [{
      id: 'chat',
      // No routing setting: prefix-aware is the default for a chat model with several deployments.
      deployments: sims.map((s, i) => ({ id: `d${i}`, engine: 'openai', baseUrl: s.url })),
    }],
  };
  gateways.push(await startTestGateway(doc), await startTestGateway(doc));
});
after(async () => {
  for (const g of gateways) await g.close();
  for (const s of sims) await s.close();
});

const SYSTEM = 'You are the support assistant of a hardware shop. Answer briefly and precisely. '.repeat(20);

async function send(gw: TestGateway, messages: Array<{ role: string; content: string }>, maxTokens = 8): Promise<{ deployment: string; reply: string }> {
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${gw.key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'chat', messages, max_tokens: maxTokens }),
  });
  const body = await res.json() as { choices: Array<{ message: { content: string } }> };
  assert.equal(res.status, 200, JSON.stringify(body));
  return { deployment: res.headers.get('x-sluice-deployment')!, reply: body.choices[0]!.message.content };
}

test("a conversation's turns meet on one deployment whichever replica serves them, and conversations spread", async () => {
  const homes = new Map<number, string>();
  for (let c = 0; c < 16; c++) {
    const messages = [{ role: 'system', content: SYSTEM }, { role: 'user', content: `Customer ${c}: my order ${c * 37} has not arrived. ` }];
    const seen: string[] = [];
    for (let turn = 0; turn < 4; turn++) {
      // Alternate replicas: turn 1 on one, turn 2 on the other, and so on.
      const { deployment, reply } = await send(gateways[(c + turn) % 2]!, messages);
      seen.push(deployment);
      messages.push({ role: 'assistant', content: reply }, { role: 'user', content: `Follow-up ${turn} of customer ${c}: any news?` });
    }
    assert.equal(new Set(seen).size, 1, `conversation ${c} moved: ${seen.join(' ')}`);
    homes.set(c, seen[0]!);
  }
  const used = new Set(homes.values());
  assert.ok(used.size >= 3, `16 conversations on ${used.size} deployments: ${JSON.stringify([...homes])}`);
});

test('a burst on one conversation spills past its deployment once that one is past the load bound', async () => {
  const messages = [{ role: 'system', content: SYSTEM }, { role: 'user', content: 'One question asked by many at once.' }];
  const home = (await send(gateways[0]!, messages)).deployment;
  // Twelve at once, each long enough (200 tokens × 2 ms) to be in flight together.
  const burst = await Promise.all(Array.from({ length: 12 }, () => send(gateways[0]!, messages, 200)));
  const counts = new Map<string, number>();
  for (const r of burst) counts.set(r.deployment, (counts.get(r.deployment) ?? 0) + 1);
  assert.ok((counts.get(home) ?? 0) >= 3, `the conversation's home takes its share first: ${JSON.stringify([...counts])}`);
  assert.ok(counts.size >= 2, `the rest spills: ${JSON.stringify([...counts])}`);
  // Bounded load: no deployment took more than its share plus the floor (LOAD_FLOOR, 3).
  for (const n of counts.values()) assert.ok(n <= Math.ceil(12 / 4) + LOAD_FLOOR, `${JSON.stringify([...counts])}`);
});
