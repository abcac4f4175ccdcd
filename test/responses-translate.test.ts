// The Responses API's translation to chat completions (src/responses/to-chat.ts) and back
// (response-object.ts), piece by piece: what each input item, tool, tool choice and text format
// becomes, and the Response built from a chat answer, checked against the published schema.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GatewayError } from '../src/errors/gateway-error.js';
import { checkBody } from '../src/openai/check-body.js';
import { responsesRequest } from '../src/responses/request-schema.js';
import { newShell, responseObject, stateFromChat } from '../src/responses/response-object.js';
import { normalizeInput, toChatBody } from '../src/responses/to-chat.js';
import { assertValid } from './helpers/openapi-schema.js';

const parse = (body: unknown) => responsesRequest.parse(body);

test('instructions, every input item kind, tools, tool choice and format become one valid chat body', () => {
  const req = parse({
    model: 'm',
    instructions: 'Be brief.',
    input: [
      { role: 'developer', content: 'Answer in French.' },
      { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Weather ' }, { type: 'input_text', text: 'in Paris?' }] },
      { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Let me check.', annotations: [] }] },
      { type: 'function_call', call_id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' },
      { type: 'function_call', call_id: 'call_2', name: 'get_time', arguments: '{}' },
      { type: 'function_call_output', call_id: 'call_1', output: '{"t":21}' },
      { role: 'user', content: [{ type: 'input_image', image_url: 'https://example.com/a.png', detail: 'low' }, { type: 'input_text', text: 'And this?' }] },
    ],
    tools: [{ type: 'function', name: 'get_weather', parameters: { type: 'object' }, strict: true }],
    tool_choice: { type: 'function', name: 'get_weather' },
    text: { format: { type: 'json_schema', name: 'answer', schema: { type: 'object' }, strict: true } },
    max_output_tokens: 50,
    temperature: 0.5,
    stream: true,
  });
  const body = toChatBody(req, [], normalizeInput(req.input, new Map()));
  assert.deepEqual(body.messages, [
    { role: 'system', content: 'Be brief.' },
    { role: 'system', content: 'Answer in French.' },
    { role: 'user', content: 'Weather in Paris?' },
    { role: 'assistant', content: 'Let me check.', tool_calls: [
      { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
      { id: 'call_2', type: 'function', function: { name: 'get_time', arguments: '{}' } },
    ] },
    { role: 'tool', tool_call_id: 'call_1', content: '{"t":21}' },
    { role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://example.com/a.png', detail: 'low' } }, { type: 'text', text: 'And this?' }] },
  ]);
  assert.deepEqual(body.tools, [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object' }, strict: true } }]);
  assert.deepEqual(body.tool_choice, { type: 'function', function: { name: 'get_weather' } });
  assert.deepEqual(body.response_format, { type: 'json_schema', json_schema: { name: 'answer', schema: { type: 'object' }, strict: true } });
  assert.equal(body.max_tokens, 50);
  assert.deepEqual(body.stream_options, { include_usage: true }, 'a stream always asks for usage');
  assert.equal(checkBody('chat', body), undefined, 'the chat schema accepts it');
});

test('earlier turns come before this one; item references are replaced by the stored item, an unknown one is a 400 naming it', () => {
  const req = parse({ model: 'm', input: [{ type: 'item_reference', id: 'msg_a' }, { role: 'user', content: 'and?' }] });
  const stored = { id: 'msg_a', type: 'message', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'Hi.', annotations: [] }] };
  const input = normalizeInput(req.input, new Map([['msg_a', stored]]));
  assert.equal(input[0], stored);
  assert.match(String(input[1]!.id), /^msg_/);
  const history = [{ id: 'msg_0', type: 'message', role: 'user', status: 'completed', content: [{ type: 'input_text', text: 'hello' }] }];
  assert.deepEqual(toChatBody(req, history, input).messages, [{ role: 'user', content: 'hello' }, { role: 'assistant', content: 'Hi.' }, { role: 'user', content: 'and?' }]);
  assert.throws(() => normalizeInput(req.input, new Map()), (e: unknown) => e instanceof GatewayError && e.code === 'invalid_parameter' && e.param === 'input[0].id');
});

test('what Sluice cannot serve is refused by name, before any engine is asked', () => {
  const bad = (body: Record<string, unknown>) => responsesRequest.safeParse({ model: 'm', input: 'x', ...body }).success;
  assert.equal(bad({ reasoning: { effort: 'high' } }), false);
  assert.equal(bad({ tools: [{ type: 'file_search' }] }), false);
  assert.equal(bad({ include: ['message.output_text.logprobs'] }), false);
  assert.equal(bad({ truncation: 'auto' }), false);
  assert.equal(bad({ metadata: Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, 'v'])) }), false);
  const req = parse({ model: 'm', input: [{ role: 'user', content: [{ type: 'input_image', file_id: 'file_1' }] }] });
  assert.throws(() => toChatBody(req, [], normalizeInput(req.input, new Map())), (e: unknown) => e instanceof GatewayError && e.param === 'input[0].content[0].file_id');
});

test('a chat answer becomes a valid Response: text, tool calls, usage, and incomplete on length', () => {
  const req = parse({ model: 'm', input: 'x', tools: [{ type: 'function', name: 'f' }], metadata: { a: 'b' } });
  const shell = newShell(req);
  const answer = {
    choices: [{ message: { content: 'Checking.', tool_calls: [{ id: 'call_9', function: { name: 'f', arguments: '{}' } }] }, finish_reason: 'tool_calls' }],
    usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15, prompt_tokens_details: { cached_tokens: 4 } },
  };
  const r = responseObject(shell, stateFromChat(answer));
  assertValid('Response', r);
  assert.equal(r.status, 'completed');
  const output = r.output as Array<Record<string, unknown>>;
  assert.deepEqual(output.map((o) => o.type), ['message', 'function_call']);
  assert.equal(output[1]!.call_id, 'call_9');
  assert.deepEqual(r.usage, { input_tokens: 10, input_tokens_details: { cached_tokens: 4, cache_write_tokens: 0 }, output_tokens: 5, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 15 });
  assert.deepEqual(r.metadata, { a: 'b' });

  const cut = responseObject(shell, stateFromChat({ choices: [{ message: { content: 'Once upon' }, finish_reason: 'length' }], usage: answer.usage }));
  assertValid('Response', cut);
  assert.equal(cut.status, 'incomplete');
  assert.deepEqual(cut.incomplete_details, { reason: 'max_output_tokens' });
  assert.equal((cut.output as Array<Record<string, unknown>>)[0]!.status, 'incomplete');
});
