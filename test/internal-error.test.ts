// A bug inside the gateway becomes the catalog's 500 with a request id; the process stays up.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { createEngine } from '../src/routing/registry.js';
import type { Engine } from '../src/engines/types.js';
import { assertContractError } from './helpers/assert-error.js';
import { http, simModel, startTestGateway, type TestGateway } from './helpers/gateway.js';

let gw: TestGateway;
before(async () => {
  gw = await startTestGateway({ models: [simModel('buggy'), simModel('fine')] }, {
    engineFor: (d): Engine => {
      if (d.id !== 'buggy-sim') return createEngine(d);
      const broken = (): never => {
        const o: { x?: { y: number } } = {};
        return o.x!.y as never; // TypeError, as a real bug would throw
      };
      return { json: async () => broken(), stream: async () => broken(), close: async () => {} };
    },
  });
});
after(() => gw.close());

const body = (model: string, stream = false) => JSON.stringify({ model, messages: [{ role: 'user', content: 'x' }], stream });

test('a thrown bug is a generic 500 internal_error with the request id, no details', async () => {
  for (const stream of [false, true]) {
    const res = await http(`${gw.baseURL}/chat/completions`, { method: 'POST', key: gw.key, body: body('buggy', stream) });
    assertContractError(res, 'internal_error');
    assert.ok(!res.text.includes('TypeError') && !res.text.includes('undefined'), 'no error details in the body');
  }
});

test('the SDK sees InternalServerError and retries it (x-should-retry: true)', async () => {
  const client = gw.client({ maxRetries: 1 });
  const started = Date.now();
  await assert.rejects(client.chat.completions.create({ model: 'buggy', messages: [{ role: 'user', content: 'x' }] }), (e: unknown) => e instanceof OpenAI.InternalServerError && e.status === 500);
  assert.ok(Date.now() - started >= 300, 'the SDK waited and retried');
});

test('the process keeps serving after the bug', async () => {
  const res = await http(`${gw.baseURL}/chat/completions`, { method: 'POST', key: gw.key, body: body('fine') });
  assert.equal(res.status, 200);
});
