// The vendored Responses API schemas (test/openapi/openai-components.json: CreateResponse,
// Response, ResponseStreamEvent, ResponseItemList) behave as they should before any gateway
// answer is judged by them: hand-written minimal answers, events and requests, written from the
// schemas' `required` lists, validate; each with something missing or wrong does not, and the
// errors say what. The required lists themselves are pinned, so that a re-extraction that changes
// what an answer must carry shows up here first.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ErrorObject } from 'ajv/dist/2020.js';
import { assertValid, assertValidResponseEvent, formatErrors, openapiSchema, responseEventSchemas, validateAgainst, validateResponseEvent } from './helpers/openapi-schema.js';

type Body = Record<string, any>;

const without = (obj: Body, key: string): Body => {
  const { [key]: _dropped, ...rest } = obj;
  return rest;
};

/** The `required` of a schema, or of the one member of its `allOf` that has one. */
function requiredOf(name: string): string[] {
  const s = openapiSchema(name) as Body;
  if (Array.isArray(s.required)) return s.required;
  const parts = ((s.allOf ?? []) as Body[]).filter((p) => Array.isArray(p.required));
  assert.equal(parts.length, 1, `${name}: one allOf member with a required list`);
  return parts[0]!.required;
}

function assertInvalid(errors: ErrorObject[], expect: RegExp, what: string): void {
  assert.ok(errors.length > 0, `${what} must not validate`);
  const text = formatErrors(errors, 50);
  assert.match(text, expect, `${what}: the errors should say so:\n${text}`);
}

// ---------------------------------------------------------------------------------------------
// Minimal valid objects, written from the schemas.

const CREATED = 1_741_476_542;

const usage = {
  input_tokens: 36,
  input_tokens_details: { cached_tokens: 0, cache_write_tokens: 0 },
  output_tokens: 87,
  output_tokens_details: { reasoning_tokens: 0 },
  total_tokens: 123,
};

const textPart = (text: string) => ({ type: 'output_text', text, annotations: [], logprobs: [] });

const messageItem = (status: 'in_progress' | 'completed' | 'incomplete' = 'completed', text = 'Hello there') => ({
  id: 'msg_67ccd2bf17f0819081ff3bb2cf6508e6',
  type: 'message',
  role: 'assistant',
  status,
  content: status === 'in_progress' ? [] : [textPart(text)],
});

const functionCallItem = (status: 'in_progress' | 'completed' = 'completed') => ({
  id: 'fc_12345xyz',
  type: 'function_call',
  call_id: 'call_12345xyz',
  name: 'get_weather',
  arguments: status === 'completed' ? '{"location":"Paris"}' : '',
  status,
});

/** A completed answer with one message: every field `Response` requires, plus status and usage. */
const minimalResponse = (): Body => ({
  id: 'resp_67ccd2bed1ec8190b14f964abc0542670bb6a6b452d3795b',
  object: 'response',
  created_at: CREATED,
  status: 'completed',
  error: null,
  incomplete_details: null,
  instructions: null,
  model: 'test-chat',
  output: [messageItem()],
  parallel_tool_calls: true,
  metadata: {},
  temperature: 1,
  top_p: 1,
  tool_choice: 'auto',
  tools: [],
  usage,
});

/** A fuller answer as OpenAI sends it: the optional fields too. */
const fullResponse = (): Body => ({
  ...minimalResponse(),
  completed_at: CREATED + 2,
  background: false,
  max_output_tokens: null,
  max_tool_calls: null,
  previous_response_id: null,
  reasoning: { effort: null, summary: null },
  service_tier: 'default',
  store: true,
  text: { format: { type: 'text' }, verbosity: 'medium' },
  top_logprobs: 0,
  truncation: 'disabled',
  safety_identifier: null,
  prompt_cache_key: null,
});

const functionTool = { type: 'function', name: 'get_weather', description: 'The weather', parameters: { type: 'object', properties: { location: { type: 'string' } }, required: ['location'] }, strict: true };

// ---------------------------------------------------------------------------------------------

describe('Response', () => {
  test('what it requires (pinned)', () => {
    assert.deepEqual(requiredOf('Response').slice().sort(), ['created_at', 'error', 'id', 'incomplete_details', 'instructions', 'metadata', 'model', 'object', 'output', 'parallel_tool_calls', 'temperature', 'tool_choice', 'tools', 'top_p'].sort());
    assert.deepEqual(requiredOf('ResponseUsage'), ['input_tokens', 'input_tokens_details', 'output_tokens', 'output_tokens_details', 'total_tokens']);
    const details = (openapiSchema('ResponseUsage') as Body).properties;
    assert.deepEqual(details.input_tokens_details.required, ['cached_tokens', 'cache_write_tokens']);
    assert.deepEqual(details.output_tokens_details.required, ['reasoning_tokens']);
    assert.deepEqual(requiredOf('OutputMessage'), ['id', 'type', 'role', 'content', 'status']);
    assert.deepEqual(requiredOf('OutputTextContent'), ['type', 'text', 'annotations', 'logprobs']);
    assert.deepEqual(requiredOf('FunctionToolCall'), ['type', 'call_id', 'name', 'arguments']);
    assert.deepEqual(requiredOf('FunctionToolCallOutput'), ['type', 'output']);
    assert.deepEqual(requiredOf('FunctionTool'), ['type', 'name', 'strict', 'parameters']);
  });

  test('a minimal completed answer validates, and a fuller one', () => {
    assertValid('Response', minimalResponse(), 'the minimal answer');
    assertValid('Response', fullResponse(), 'the fuller answer');
  });

  for (const field of ['id', 'object', 'created_at', 'error', 'incomplete_details', 'instructions', 'model', 'output', 'parallel_tool_calls', 'metadata', 'temperature', 'top_p', 'tool_choice', 'tools']) {
    test(`without ${field} it does not`, () => {
      assertInvalid(validateAgainst('Response', without(minimalResponse(), field)), new RegExp(`required property '${field}'`), `an answer without ${field}`);
    });
  }

  test('null is allowed where OpenAI sends null', () => {
    assertValid('Response', { ...without(minimalResponse(), 'usage'), metadata: null, temperature: null, top_p: null, instructions: null }, 'nulls');
  });

  test('gaps of the document: usage and user may be left out but not null', () => {
    // OpenAI sends `"usage": null` in response.created / in_progress, and `"user": null`; the
    // document types both as non-nullable. An answer that leaves them out validates.
    assertInvalid(validateAgainst('Response', { ...minimalResponse(), usage: null }), /\/usage must be object/, 'usage: null');
    assertInvalid(validateAgainst('Response', { ...minimalResponse(), user: null }), /\/user must be string/, 'user: null');
  });

  test('wrong values do not validate', () => {
    assertInvalid(validateAgainst('Response', { ...minimalResponse(), object: 'chat.completion' }), /\/object must be equal to one of the allowed values/, 'object');
    assertInvalid(validateAgainst('Response', { ...minimalResponse(), status: 'done' }), /\/status must be equal to one of the allowed values/, 'status');
    assertInvalid(validateAgainst('Response', { ...minimalResponse(), usage: { ...usage, input_tokens_details: {} } }), /\/usage\/input_tokens_details must have required property 'cached_tokens'/, 'usage details');
    assertInvalid(validateAgainst('Response', { ...minimalResponse(), usage: without(usage, 'total_tokens') }), /\/usage must have required property 'total_tokens'/, 'usage total');
    // The output text part needs its (empty) annotations and logprobs.
    const bare = minimalResponse();
    bare.output[0].content[0] = { type: 'output_text', text: 'Hi' };
    assertInvalid(validateAgainst('Response', bare), /\/output\/0\/content\/0 must have required property 'annotations'/, 'a bare output_text');
    // An output item of no known type is named as such.
    assertInvalid(validateAgainst('Response', { ...minimalResponse(), output: [{ type: 'nonsense', id: 'x' }] }), /\/output\/0\/type must be equal to one of the allowed values/, 'an unknown item type');
  });

  test('a function call answer, an incomplete one, a failed one', () => {
    assertValid('Response', { ...minimalResponse(), output: [functionCallItem()], tools: [functionTool], tool_choice: { type: 'function', name: 'get_weather' } }, 'a function call');
    assertInvalid(validateAgainst('Response', { ...minimalResponse(), output: [without(functionCallItem(), 'call_id')] }), /\/output\/0 must have required property 'call_id'/, 'a function call without call_id');
    // A function tool echoed back must carry strict and parameters.
    assertInvalid(validateAgainst('Response', { ...minimalResponse(), tools: [without(functionTool, 'strict')] }), /\/tools\/0 must have required property 'strict'/, 'a function tool without strict');
    assertValid('Response', { ...minimalResponse(), status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' }, output: [messageItem('incomplete')] }, 'an incomplete answer');
    assertValid('Response', { ...without(minimalResponse(), 'usage'), status: 'failed', error: { code: 'server_error', message: 'The engine failed.' }, output: [] }, 'a failed answer');
    // Response.error.code is OpenAI's closed list (ResponseErrorCode), not any string.
    assertInvalid(validateAgainst('Response', { ...minimalResponse(), status: 'failed', error: { code: 'engine_error', message: 'x' } }), /\/error\/code must be equal to one of the allowed values/, 'a catalog code in Response.error');
    assertInvalid(validateAgainst('Response', { ...minimalResponse(), status: 'failed', error: { code: 'server_error' } }), /\/error must have required property 'message'/, 'an error without message');
  });
});

// ---------------------------------------------------------------------------------------------

describe('ResponseStreamEvent', () => {
  // No usage yet: left out, as the document does not allow null (see above).
  const inProgress = (): Body => ({ ...without(minimalResponse(), 'usage'), status: 'in_progress', output: [] });
  const itemId = messageItem().id;
  const sample: Body[] = [
    { type: 'response.created', sequence_number: 0, response: inProgress() },
    { type: 'response.in_progress', sequence_number: 1, response: inProgress() },
    { type: 'response.output_item.added', sequence_number: 2, output_index: 0, item: messageItem('in_progress') },
    { type: 'response.content_part.added', sequence_number: 3, item_id: itemId, output_index: 0, content_index: 0, part: textPart('') },
    { type: 'response.output_text.delta', sequence_number: 4, item_id: itemId, output_index: 0, content_index: 0, delta: 'Hello', logprobs: [] },
    { type: 'response.output_text.done', sequence_number: 5, item_id: itemId, output_index: 0, content_index: 0, text: 'Hello there', logprobs: [] },
    { type: 'response.content_part.done', sequence_number: 6, item_id: itemId, output_index: 0, content_index: 0, part: textPart('Hello there') },
    { type: 'response.output_item.done', sequence_number: 7, output_index: 0, item: messageItem() },
    { type: 'response.output_item.added', sequence_number: 8, output_index: 1, item: functionCallItem('in_progress') },
    { type: 'response.function_call_arguments.delta', sequence_number: 9, item_id: 'fc_12345xyz', output_index: 1, delta: '{"location":' },
    { type: 'response.function_call_arguments.done', sequence_number: 10, item_id: 'fc_12345xyz', output_index: 1, name: 'get_weather', arguments: '{"location":"Paris"}' },
    { type: 'response.output_item.done', sequence_number: 11, output_index: 1, item: functionCallItem() },
    { type: 'response.completed', sequence_number: 12, response: { ...minimalResponse(), output: [messageItem(), functionCallItem()] } },
    { type: 'response.incomplete', sequence_number: 12, response: { ...minimalResponse(), status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' }, output: [messageItem('incomplete')] } },
    // After an error mid-stream: the error event (code and param free strings or null; extra
    // fields such as a request id are not forbidden), then response.failed.
    { type: 'error', sequence_number: 5, code: 'engine_error', message: 'The engine failed.', param: null, request_id: 'req_123' },
    { type: 'response.failed', sequence_number: 6, response: { ...minimalResponse(), status: 'failed', error: { code: 'server_error', message: 'The engine failed.' }, output: [] } },
  ];

  test('what each event requires (pinned)', () => {
    const expect: Record<string, string[]> = {
      'response.created': ['type', 'response', 'sequence_number'],
      'response.in_progress': ['type', 'response', 'sequence_number'],
      'response.output_item.added': ['type', 'output_index', 'item', 'sequence_number'],
      'response.content_part.added': ['type', 'item_id', 'output_index', 'content_index', 'part', 'sequence_number'],
      'response.output_text.delta': ['type', 'item_id', 'output_index', 'content_index', 'delta', 'sequence_number', 'logprobs'],
      'response.output_text.done': ['type', 'item_id', 'output_index', 'content_index', 'text', 'sequence_number', 'logprobs'],
      'response.content_part.done': ['type', 'item_id', 'output_index', 'content_index', 'part', 'sequence_number'],
      'response.function_call_arguments.delta': ['type', 'item_id', 'output_index', 'delta', 'sequence_number'],
      'response.function_call_arguments.done': ['type', 'item_id', 'name', 'output_index', 'arguments', 'sequence_number'],
      'response.output_item.done': ['type', 'output_index', 'item', 'sequence_number'],
      'response.completed': ['type', 'response', 'sequence_number'],
      'response.incomplete': ['type', 'response', 'sequence_number'],
      'response.failed': ['type', 'response', 'sequence_number'],
      error: ['type', 'code', 'message', 'param', 'sequence_number'],
    };
    for (const [type, required] of Object.entries(expect)) {
      const member = responseEventSchemas().get(type);
      assert.ok(member, `a member for ${type}`);
      assert.deepEqual(requiredOf(member), required, type);
    }
    assert.ok(responseEventSchemas().size >= 50, `every event type is known (${responseEventSchemas().size})`);
  });

  for (const event of sample) {
    test(`${event.type} validates, alone and as a ResponseStreamEvent`, () => {
      assertValidResponseEvent(event);
      const errors = validateAgainst('ResponseStreamEvent', event);
      assert.deepEqual(errors, [], formatErrors(errors));
    });
  }

  test('malformed events do not, and the errors say why', () => {
    const delta = sample.find((e) => e.type === 'response.output_text.delta')!;
    const errorEvent = sample.find((e) => e.type === 'error')!;
    const completed = sample.find((e) => e.type === 'response.completed')!;
    const cases: Array<[string, unknown, RegExp]> = [
      ['a delta without sequence_number', without(delta, 'sequence_number'), /required property 'sequence_number'/],
      ['a delta without logprobs', without(delta, 'logprobs'), /required property 'logprobs'/],
      ['a delta with a string sequence_number', { ...delta, sequence_number: '4' }, /\/sequence_number must be integer/],
      ['a delta without item_id', without(delta, 'item_id'), /required property 'item_id'/],
      ['an error event without param', without(errorEvent, 'param'), /required property 'param'/],
      ['an error event nesting its error as chat does', { type: 'error', sequence_number: 3, error: { code: 'x', message: 'y', param: null } }, /required property 'message'/],
      ['a completed event whose response lacks tools', { ...completed, response: without(completed.response, 'tools') }, /\/response must have required property 'tools'/],
      ['a completed event whose response has a bare text part', { ...completed, response: { ...completed.response, output: [{ ...messageItem(), content: [{ type: 'output_text', text: 'Hi' }] }] } }, /\/response\/output\/0\/content\/0 must have required property 'annotations'/],
      ['a failed event with a catalog code in response.error', { type: 'response.failed', sequence_number: 6, response: { ...minimalResponse(), status: 'failed', error: { code: 'engine_error', message: 'x' } } }, /\/response\/error\/code must be equal to one of the allowed values/],
      ['an unknown type', { type: 'response.output_text.deltas', sequence_number: 1 }, /\/type must be the type of a ResponseStreamEvent member/],
      ['no type', { sequence_number: 1 }, /must have required property 'type'/],
      ['not an object', 'data: [DONE]', /must be object/],
    ];
    for (const [what, event, expect] of cases) {
      assertInvalid(validateResponseEvent(event), expect, what);
      assert.ok(validateAgainst('ResponseStreamEvent', event).length > 0, `${what}: not a ResponseStreamEvent either`);
    }
    // Errors name the event's own schema, not all 58: one line for one missing field.
    assert.equal(formatErrors(validateResponseEvent(without(delta, 'logprobs'))).split('\n').length, 1);
    assert.throws(() => assertValidResponseEvent(without(delta, 'logprobs')), /ResponseTextDeltaEvent[\s\S]*logprobs/);
  });
});

// ---------------------------------------------------------------------------------------------

describe('CreateResponse', () => {
  const valid: Array<[string, Body]> = [
    ['model and a string input', { model: 'test-chat', input: 'Tell me a joke.' }],
    ['nothing at all (the document requires no field)', {}],
    ['the fields clients send', { model: 'test-chat', input: 'Hi', instructions: 'Be brief.', max_output_tokens: 64, temperature: 0.2, top_p: 0.9, stream: true, store: false, previous_response_id: 'resp_123', metadata: { k: 'v' }, user: 'u1', parallel_tool_calls: false, tools: [functionTool], tool_choice: 'required' }],
    ['text.format json_schema', { model: 'test-chat', input: 'Hi', text: { format: { type: 'json_schema', name: 'answer', schema: { type: 'object', properties: { a: { type: 'string' } } }, strict: true } } }],
    ['text.format json_object and text', { model: 'test-chat', input: 'Hi', text: { format: { type: 'json_object' } } }],
    ['tool_choice naming a function', { model: 'test-chat', input: 'Hi', tools: [functionTool], tool_choice: { type: 'function', name: 'get_weather' } }],
    [
      'an input list: messages, function_call, function_call_output, item_reference',
      {
        model: 'test-chat',
        input: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'What is the weather in Paris?' },
          // The content list form, which is both an EasyInputMessage and an InputMessage: plain
          // `oneOf` would refuse it; the discriminator says it is a message.
          { role: 'user', content: [{ type: 'input_text', text: 'And in Lyon?' }] },
          { type: 'message', role: 'developer', content: [{ type: 'input_text', text: 'Use Celsius.' }] },
          { type: 'message', role: 'assistant', content: 'Let me look.' },
          { type: 'function_call', call_id: 'call_1', name: 'get_weather', arguments: '{"location":"Paris"}' },
          { type: 'function_call_output', call_id: 'call_1', output: '{"temp":21}' },
          { type: 'item_reference', id: 'msg_123' },
          { id: 'fc_456' }, // an item_reference may leave out its type
          // An earlier answer's output item sent back as is.
          messageItem(),
        ],
      },
    ],
  ];
  for (const [what, body] of valid) {
    test(`${what} validates`, () => assertValid('CreateResponse', body, what));
  }

  test('what is wrong does not validate', () => {
    const cases: Array<[string, Body, RegExp]> = [
      ['input a number', { model: 'm', input: 5 }, /\/input must be (string|array)/],
      ['a function_call without name', { model: 'm', input: [{ type: 'function_call', call_id: 'c', arguments: '{}' }] }, /\/input\/0 must have required property 'name'/],
      ['a function_call_output without output', { model: 'm', input: [{ type: 'function_call_output', call_id: 'c' }] }, /\/input\/0 must have required property 'output'/],
      ['an item_reference without id', { model: 'm', input: [{ type: 'item_reference' }] }, /\/input\/0 must have required property 'id'/],
      ['an unknown item type', { model: 'm', input: [{ type: 'bogus' }] }, /\/input\/0\/type must be equal to one of the allowed values/],
      ['a user message with output_text content', { model: 'm', input: [{ role: 'user', content: [{ type: 'output_text', text: 'x' }] }] }, /\/input\/0/],
      ['temperature 3', { model: 'm', input: 'x', temperature: 3 }, /\/temperature must be <= 2/],
      ['max_output_tokens under 16', { model: 'm', input: 'x', max_output_tokens: 8 }, /\/max_output_tokens must be >= 16/],
      ['a function tool without parameters', { model: 'm', input: 'x', tools: [without(functionTool, 'parameters')] }, /\/tools\/0 must have required property 'parameters'/],
      ['text.format json_schema without name', { model: 'm', input: 'x', text: { format: { type: 'json_schema', schema: {} } } }, /required property 'name'/],
    ];
    for (const [what, body, expect] of cases) assertInvalid(validateAgainst('CreateResponse', body), expect, what);
  });
});

// ---------------------------------------------------------------------------------------------

describe('ResponseItemList (GET /v1/responses/{id}/input_items)', () => {
  const list = (): Body => ({
    object: 'list',
    data: [
      { id: 'msg_abc123', type: 'message', role: 'user', status: 'completed', content: [{ type: 'input_text', text: 'Tell me a joke.' }] },
      { id: 'fc_1', type: 'function_call', call_id: 'call_1', name: 'get_weather', arguments: '{}', status: 'completed' },
      { id: 'fco_1', type: 'function_call_output', call_id: 'call_1', output: '{"temp":21}', status: 'completed' },
      messageItem(),
    ],
    first_id: 'msg_abc123',
    last_id: messageItem().id,
    has_more: false,
  });

  test('what it requires (pinned)', () => {
    assert.deepEqual(requiredOf('ResponseItemList'), ['object', 'data', 'has_more', 'first_id', 'last_id']);
  });

  test('a list validates', () => assertValid('ResponseItemList', list(), 'the list'));

  test('what is missing does not validate', () => {
    // An item of a stored list carries its id (and a message its type), unlike an input item.
    const noId = list();
    noId.data[0] = without(noId.data[0], 'id');
    assertInvalid(validateAgainst('ResponseItemList', noId), /\/data\/0 must have required property 'id'/, 'an item without id');
    const noStatus = list();
    noStatus.data[2] = without(noStatus.data[2], 'status');
    assertInvalid(validateAgainst('ResponseItemList', noStatus), /\/data\/2 must have required property 'status'/, 'a function_call_output without status');
    // first_id and last_id are required strings, even for an empty list.
    assertInvalid(validateAgainst('ResponseItemList', { object: 'list', data: [], has_more: false, first_id: null, last_id: null }), /\/first_id must be string/, 'an empty list with null ids');
    assertInvalid(validateAgainst('ResponseItemList', without(list(), 'has_more')), /required property 'has_more'/, 'without has_more');
  });
});
