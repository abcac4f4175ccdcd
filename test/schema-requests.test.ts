// Requests OpenAI's published schema allows are accepted. Each request below is first checked
// against the vendored schema (test/openapi/openai-components.json), so the test only ever sends
// what the schema allows; then it goes to a real gateway, where nothing may be refused with a 400
// but the contract's `unsupported_parameter`, naming in `param` a field that README's
// "Endpoints" section lists as unsupported. Raw HTTP: the body is exactly what is written here.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { http, startTestGateway, type TestGateway } from './helpers/gateway.js';
import { assertContractError } from './helpers/assert-error.js';
import { formatErrors, validateAgainst, type OpenAISchemaName } from './helpers/openapi-schema.js';

type Body = Record<string, unknown>;

let gw: TestGateway;
before(async () => {
  gw = await startTestGateway();
});
after(() => gw.close());

/** README's "Endpoints" section: where what is refused as unsupported must be listed. */
function endpointsSection(): string {
  for (const rel of ['../README.md', '../../README.md']) {
    const path = fileURLToPath(new URL(rel, import.meta.url));
    if (!existsSync(path)) continue;
    const text = readFileSync(path, 'utf8');
    const m = /^## Endpoints\n([\s\S]*?)(?=^## )/m.exec(text);
    assert.ok(m, 'README.md has an "## Endpoints" section');
    return m[1]!;
  }
  throw new Error('README.md not found');
}

/** The `fields` named in the Endpoints section's paragraph about `unsupported_parameter`. */
function listedUnsupported(): Set<string> {
  const paragraph = endpointsSection().split(/\n\s*\n/).find((p) => p.includes('unsupported_parameter'));
  assert.ok(paragraph, 'README Endpoints says what is refused as unsupported_parameter');
  return new Set([...paragraph.matchAll(/`([a-z_.[\]0-9]+)`/g)].map((m) => m[1]!));
}

const PNG_1PX = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=';
const WAV_HEADER = Buffer.from('RIFF$\u0000\u0000\u0000WAVEfmt ', 'latin1').toString('base64');
const PDF = Buffer.from('%PDF-1.4\n%%EOF\n').toString('base64');

const user = (content: unknown, extra: Body = {}) => ({ role: 'user', content, ...extra });
const weatherTool = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'The weather at a place',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false },
    strict: true,
  },
};
const toolCallTurn = [
  user('What is the weather in Paris?'),
  { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
  { role: 'tool', tool_call_id: 'call_1', content: '{"temp_c": 21}' },
];

/** Chat requests: each is merged into { model, messages: [a user message] } unless it sets messages. */
const CHAT: Array<[string, Body]> = [
  // Every message role and content form.
  ['system message, string', { messages: [{ role: 'system', content: 'Be brief.' }, user('Hi')] }],
  ['system message, text parts', { messages: [{ role: 'system', content: [{ type: 'text', text: 'Be brief.' }], name: 'sys' }, user('Hi')] }],
  ['developer message, string and parts', { messages: [{ role: 'developer', content: 'Answer in French.' }, { role: 'developer', content: [{ type: 'text', text: 'Short.' }] }, user('Hi')] }],
  ['user message with a name', { messages: [user('Hi', { name: 'alice' })] }],
  ['user text parts', { messages: [user([{ type: 'text', text: 'Hello' }, { type: 'text', text: 'again' }])] }],
  ['user text part with a cache breakpoint', { messages: [user([{ type: 'text', text: 'A long preamble', prompt_cache_breakpoint: { mode: 'explicit' } }])] }],
  ['image_url part, http', { messages: [user([{ type: 'text', text: 'What is this?' }, { type: 'image_url', image_url: { url: 'https://example.com/cat.png' } }])] }],
  ['image_url part, data URL with detail', { messages: [user([{ type: 'image_url', image_url: { url: `data:image/png;base64,${PNG_1PX}`, detail: 'low' } }])] }],
  ['input_audio part', { messages: [user([{ type: 'text', text: 'Transcribe' }, { type: 'input_audio', input_audio: { data: WAV_HEADER, format: 'wav' } }])] }],
  ['file part by id', { messages: [user([{ type: 'file', file: { file_id: 'file-abc123' } }, { type: 'text', text: 'Summarize' }])] }],
  ['file part inline', { messages: [user([{ type: 'file', file: { filename: 'a.pdf', file_data: `data:application/pdf;base64,${PDF}` } }])] }],
  ['assistant with tool_calls and null content, then tool', { messages: toolCallTurn, tools: [weatherTool] }],
  ['assistant with tool_calls and no content', { messages: [user('Weather?'), { role: 'assistant', tool_calls: [{ id: 'call_2', type: 'function', function: { name: 'get_weather', arguments: '{}' } }] }, { role: 'tool', tool_call_id: 'call_2', content: [{ type: 'text', text: 'sunny' }] }] }],
  ['assistant with a custom tool call', { messages: [user('Run it'), { role: 'assistant', content: null, tool_calls: [{ id: 'call_3', type: 'custom', custom: { name: 'shell', input: 'ls -la' } }] }, { role: 'tool', tool_call_id: 'call_3', content: 'a.txt' }, user('And?')] }],
  ['assistant refusal with null content', { messages: [user('Something bad'), { role: 'assistant', content: null, refusal: 'I cannot help with that.' }, user('Something else')] }],
  ['assistant content parts with a refusal part', { messages: [user('Hi'), { role: 'assistant', content: [{ type: 'text', text: 'Partly. ' }, { type: 'refusal', refusal: 'Not that.' }], name: 'bot' }, user('Ok')] }],
  ['assistant with refusal null and audio id', { messages: [user('Say hi'), { role: 'assistant', content: 'hi', refusal: null, audio: { id: 'audio_abc' } }, user('Again')] }],
  ['assistant function_call and function message (deprecated)', { messages: [user('Weather?'), { role: 'assistant', content: null, function_call: { name: 'get_weather', arguments: '{"city":"Oslo"}' } }, { role: 'function', name: 'get_weather', content: '{"temp_c": 3}' }] }],
  ['function message with null content (deprecated)', { messages: [user('x'), { role: 'function', name: 'noop', content: null }] }],
  // Tools and tool_choice.
  ['tools with tool_choice none', { tools: [weatherTool], tool_choice: 'none' }],
  ['tools with tool_choice auto', { tools: [weatherTool], tool_choice: 'auto', parallel_tool_calls: true }],
  ['tools with tool_choice required', { tools: [weatherTool], tool_choice: 'required', parallel_tool_calls: false }],
  ['tools with a named tool_choice', { tools: [weatherTool, { type: 'function', function: { name: 'noop' } }], tool_choice: { type: 'function', function: { name: 'get_weather' } } }],
  ['tools with allowed_tools', { tools: [weatherTool], tool_choice: { type: 'allowed_tools', allowed_tools: { mode: 'auto', tools: [{ type: 'function', function: { name: 'get_weather' } }] } } }],
  ['custom tools, text and grammar, named custom choice', { tools: [{ type: 'custom', custom: { name: 'shell', description: 'runs a command', format: { type: 'text' } } }, { type: 'custom', custom: { name: 'digits', format: { type: 'grammar', grammar: { syntax: 'regex', definition: '[0-9]+' } } } }], tool_choice: { type: 'custom', custom: { name: 'shell' } } }],
  ['functions and function_call (deprecated)', { functions: [{ name: 'get_weather', parameters: { type: 'object', properties: {} } }], function_call: 'auto' }],
  ['function_call by name (deprecated)', { functions: [{ name: 'get_weather' }], function_call: { name: 'get_weather' } }],
  // Output format.
  ['response_format text', { response_format: { type: 'text' } }],
  ['response_format json_object', { messages: [user('Answer in JSON')], response_format: { type: 'json_object' } }],
  ['response_format json_schema', { response_format: { type: 'json_schema', json_schema: { name: 'answer', description: 'An answer', strict: true, schema: { type: 'object', properties: { answer: { type: 'string' } }, required: ['answer'], additionalProperties: false } } } }],
  ['response_format json_schema without a schema', { response_format: { type: 'json_schema', json_schema: { name: 'anything' } } }],
  // Sampling and length.
  ['temperature, top_p, penalties', { temperature: 0.7, top_p: 0.9, frequency_penalty: 0.5, presence_penalty: -0.5 }],
  ['sampling at the edges', { temperature: 2, top_p: 0, frequency_penalty: -2, presence_penalty: 2 }],
  ['temperature 0', { temperature: 0 }],
  ['logit_bias', { logit_bias: { '50256': -100, '1000': 5, '42': 100 } }],
  ['n', { n: 3, max_completion_tokens: 4 }],
  ['stop as a string', { stop: '\n' }],
  ['stop as an array', { stop: ['END', '###', '\n\n', 'Q:'] }],
  ['seed', { seed: 12345 }],
  ['a negative seed', { seed: -7 }],
  ['a 64-bit seed', { seed: 2 ** 62 }],
  ['max_completion_tokens', { max_completion_tokens: 16 }],
  ['max_tokens (deprecated)', { max_tokens: 16 }],
  ['logprobs false', { logprobs: false }],
  ['logprobs with top_logprobs', { logprobs: true, top_logprobs: 3 }],
  ['logprobs with top_logprobs 0', { logprobs: true, top_logprobs: 0 }],
  // Everything else the schema knows.
  ['user, safety_identifier, prompt_cache_key', { user: 'user-1234', safety_identifier: 'sid-5678', prompt_cache_key: 'thread-42', prompt_cache_retention: '24h' }],
  ['prompt_cache_options', { prompt_cache_options: { ttl: '30m', mode: 'explicit' } }],
  ['metadata and store', { metadata: { project: 'demo', run: '7' }, store: true }],
  ['service_tier auto', { service_tier: 'auto' }],
  ['service_tier flex', { service_tier: 'flex' }],
  ['service_tier priority', { service_tier: 'priority' }],
  ['stream with stream_options', { stream: true, stream_options: { include_usage: true } }],
  ['stream with include_obfuscation', { stream: true, stream_options: { include_usage: false, include_obfuscation: false } }],
  ['stream false', { stream: false }],
  ['reasoning_effort and verbosity', { reasoning_effort: 'low', verbosity: 'low' }],
  ['reasoning_effort none', { reasoning_effort: 'none' }],
  ['modalities text', { modalities: ['text'] }],
  ['modalities with audio output', { modalities: ['text', 'audio'], audio: { voice: 'alloy', format: 'wav' } }],
  ['prediction as a string', { prediction: { type: 'content', content: 'The weather in Paris is sunny.' } }],
  ['prediction as text parts', { prediction: { type: 'content', content: [{ type: 'text', text: 'def f():' }] } }],
  ['web_search_options', { web_search_options: { search_context_size: 'low', user_location: { type: 'approximate', approximate: { country: 'FR', city: 'Paris', region: 'IDF', timezone: 'Europe/Paris' } } } }],
  ['web_search_options, empty', { web_search_options: {} }],
  ['moderation', { moderation: { model: 'omni-moderation-latest' } }],
  // Every nullable field set to null: "not set". (Not top_logprobs: one of the two schemas the
  // request's allOf joins declares it a plain integer.)
  [
    'every nullable field null',
    {
      temperature: null, top_p: null, n: null, stop: null, max_tokens: null, max_completion_tokens: null, presence_penalty: null, frequency_penalty: null,
      logit_bias: null, logprobs: null, seed: null, stream: null, stream_options: null, metadata: null, service_tier: null, store: null,
      modalities: null, reasoning_effort: null, verbosity: null, audio: null, prediction: null, safety_identifier: null, prompt_cache_key: null, moderation: null,
    },
  ],
];

const COMPLETIONS: Array<[string, Body]> = [
  ['prompt as a string', { prompt: 'Once upon a time' }],
  ['prompt as an array of strings', { prompt: ['Once upon a time', 'In a galaxy far away'] }],
  ['prompt as token ids', { prompt: [7454, 2402, 257, 640] }],
  ['prompt as arrays of token ids', { prompt: [[7454, 2402], [818, 257, 16161]] }],
  ['suffix', { prompt: 'def add(a, b):', suffix: '\n    return c' }],
  ['echo', { prompt: 'Say this', echo: true }],
  ['best_of with n', { prompt: 'x', best_of: 3, n: 2 }],
  ['logprobs 0', { prompt: 'x', logprobs: 0 }],
  ['logprobs 2', { prompt: 'x', logprobs: 2 }],
  ['sampling', { prompt: 'x', temperature: 1.5, top_p: 0.8, frequency_penalty: 1, presence_penalty: -1, logit_bias: { '50256': -100 }, seed: 3 }],
  ['a 64-bit seed', { prompt: 'x', seed: -(2 ** 63) }],
  ['stop string and array, n, user', { prompt: 'x', stop: ['\n'], n: 2, user: 'u-1' }],
  ['stop string', { prompt: 'x', stop: '.' }],
  ['stream with usage', { prompt: 'x', stream: true, stream_options: { include_usage: true } }],
  ['every nullable field null', { prompt: 'x', best_of: null, echo: null, frequency_penalty: null, logit_bias: null, logprobs: null, max_tokens: null, n: null, presence_penalty: null, seed: null, stop: null, stream: null, stream_options: null, suffix: null, temperature: null, top_p: null }],
];

const EMBEDDINGS: Array<[string, Body]> = [
  ['input as a string', { input: 'The food was delicious.' }],
  ['input as an array of strings', { input: ['one', 'two', 'three'] }],
  ['input as token ids', { input: [1820, 25, 1234] }],
  ['input as arrays of token ids', { input: [[1820, 25], [99, 100, 101]] }],
  ['encoding_format float', { input: 'x', encoding_format: 'float' }],
  ['encoding_format base64', { input: 'x', encoding_format: 'base64' }],
  ['dimensions', { input: 'x', dimensions: 256 }],
  ['user', { input: 'x', user: 'user-1234' }],
];

async function accepted(path: string, schema: OpenAISchemaName, body: Body): Promise<void> {
  const errors = validateAgainst(schema, body);
  assert.deepEqual(errors, [], `the request itself must be valid under ${schema}:\n${formatErrors(errors)}`);
  const res = await http(gw.url + path, { method: 'POST', key: gw.key, body: JSON.stringify(body) });
  if (res.status === 200) {
    if (body.stream === true) {
      assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
      assert.match(res.text, /data: \[DONE\]\n\n$/, 'the stream ends with [DONE]');
      assert.doesNotMatch(res.text, /"error"/, 'no error event in the stream');
    }
    return;
  }
  const e = res.body?.error;
  assert.equal(res.status, 400, `a valid request answered ${res.status}: ${res.text.slice(0, 500)}`);
  assert.equal(e?.code, 'unsupported_parameter', `a valid request refused as invalid: ${res.text.slice(0, 500)}`);
  assertContractError(res, 'unsupported_parameter', e.param);
  assert.ok(typeof e.param === 'string' && listedUnsupported().has(e.param), `refused as unsupported, but README's Endpoints does not list \`${e.param}\`: ${e.message}`);
}

describe('chat completions: what the schema allows is accepted', () => {
  for (const [name, extra] of CHAT) {
    test(name, () => accepted('/v1/chat/completions', 'CreateChatCompletionRequest', { model: 'test-chat', messages: [user('Hello')], ...extra }));
  }
});

describe('completions: what the schema allows is accepted', () => {
  for (const [name, extra] of COMPLETIONS) {
    test(name, () => accepted('/v1/completions', 'CreateCompletionRequest', { model: 'test-chat', max_tokens: 8, ...extra }));
  }
});

describe('embeddings: what the schema allows is accepted', () => {
  for (const [name, extra] of EMBEDDINGS) {
    test(name, () => accepted('/v1/embeddings', 'CreateEmbeddingRequest', { model: 'test-embed', ...extra }));
  }
});

describe('the vendored schema is strict enough to mean something', () => {
  // If these passed, the acceptance tests above would prove nothing.
  const invalid: Array<[OpenAISchemaName, string, Body]> = [
    ['CreateChatCompletionRequest', 'no messages', { model: 'm' }],
    ['CreateChatCompletionRequest', 'an unknown role', { model: 'm', messages: [{ role: 'robot', content: 'x' }] }],
    ['CreateChatCompletionRequest', 'a tool message without tool_call_id', { model: 'm', messages: [{ role: 'tool', content: 'x' }] }],
    ['CreateChatCompletionRequest', 'temperature 3', { model: 'm', messages: [user('x')], temperature: 3 }],
    ['CreateChatCompletionRequest', 'five stop sequences', { model: 'm', messages: [user('x')], stop: ['a', 'b', 'c', 'd', 'e'] }],
    ['CreateChatCompletionRequest', 'response_format yaml', { model: 'm', messages: [user('x')], response_format: { type: 'yaml' } }],
    ['CreateCompletionRequest', 'no prompt', { model: 'm' }],
    ['CreateCompletionRequest', 'logprobs 6', { model: 'm', prompt: 'x', logprobs: 6 }],
    ['CreateEmbeddingRequest', 'input as an object', { model: 'm', input: { text: 'x' } }],
    ['CreateEmbeddingRequest', 'encoding_format hex', { model: 'm', input: 'x', encoding_format: 'hex' }],
  ];
  for (const [schema, name, body] of invalid) {
    test(`${schema}: ${name} is invalid`, () => assert.notDeepEqual(validateAgainst(schema, body), []));
  }
});
