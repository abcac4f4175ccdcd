// A non-streaming answer assembled from an engine's stream (src/engines/openai/assemble-answer.ts)
// is the answer the engine would have sent whole: recorded chunk sequences in the shapes vLLM and
// OpenAI stream (tool-call arguments in pieces, parallel calls, logprobs, n = 2, completions,
// reasoning, usage with its details or none at all) give the expected answer, valid against
// OpenAI's schema; a stream that is broken or incomplete is refused; and the fast path that skips
// parsing most chunks gives what parsing every chunk gives.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mulberry32 } from '../src/sim/rng.js';
import { AnswerAssembler } from '../src/engines/openai/assemble-answer.js';
import { GatewayError } from '../src/errors/gateway-error.js';
import { assertValid } from './helpers/openapi-schema.js';

type Body = Record<string, any>;

function assemble(endpoint: 'chat' | 'completions', payloads: Array<string | Body>, model = 'client-model'): { answer: Body; assembler: AnswerAssembler } {
  const assembler = new AnswerAssembler(endpoint, 'req_test');
  for (const p of payloads) assembler.add(typeof p === 'string' ? p : JSON.stringify(p));
  return { answer: JSON.parse(assembler.text(model)) as Body, assembler };
}

function assertRefused(endpoint: 'chat' | 'completions', payloads: string[], code: string, what: string): void {
  assert.throws(() => {
    const a = new AnswerAssembler(endpoint, 'req_test');
    for (const p of payloads) a.add(p);
    a.text('m');
  }, (err: unknown) => err instanceof GatewayError && err.code === code, what);
}

// vLLM 0.8 with a hermes-style tool parser, as it streams (chunks serialized with exclude_unset).
const VLLM_HEAD = '"id":"chatcmpl-9f2c","object":"chat.completion.chunk","created":1730000000,"model":"Qwen/Qwen2.5-7B-Instruct"';
const vllmChunk = (choice: string) => `{${VLLM_HEAD},"choices":[${choice}]}`;
const VLLM_TOOL_STREAM = [
  vllmChunk('{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}'),
  vllmChunk('{"index":0,"delta":{"tool_calls":[{"id":"chatcmpl-tool-3be1","type":"function","index":0,"function":{"name":"get_weather"}}]},"logprobs":null,"finish_reason":null}'),
  vllmChunk('{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\\"city\\": \\""}}]},"logprobs":null,"finish_reason":null}'),
  vllmChunk('{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"Par"}}]},"logprobs":null,"finish_reason":null}'),
  vllmChunk('{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"is"}}]},"logprobs":null,"finish_reason":null}'),
  vllmChunk('{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\\", \\"days\\": 3}"}}]},"logprobs":null,"finish_reason":null}'),
  vllmChunk('{"index":0,"delta":{"content":""},"logprobs":null,"finish_reason":"tool_calls","stop_reason":null}'),
  `{${VLLM_HEAD},"choices":[],"usage":{"prompt_tokens":212,"total_tokens":236,"completion_tokens":24,"prompt_tokens_details":null}}`,
];

describe('chat', () => {
  test('a vLLM tool-call stream: the call put together from its pieces, content null, usage as sent', () => {
    const { answer, assembler } = assemble('chat', VLLM_TOOL_STREAM);
    assert.deepEqual(answer, {
      id: 'chatcmpl-9f2c',
      object: 'chat.completion',
      created: 1730000000,
      model: 'client-model',
      choices: [{
        index: 0,
        message: {
          role: 'assistant',
          content: null,
          refusal: null,
          tool_calls: [{ id: 'chatcmpl-tool-3be1', type: 'function', function: { name: 'get_weather', arguments: '{"city": "Paris", "days": 3}' } }],
        },
        logprobs: null,
        finish_reason: 'tool_calls',
        stop_reason: null,
      }],
      usage: { prompt_tokens: 212, total_tokens: 236, completion_tokens: 24, prompt_tokens_details: null },
    });
    assert.deepEqual(assembler.usage, { prompt_tokens: 212, completion_tokens: 24, total_tokens: 236 });
  });

  test('parallel tool calls, each by its own index, their deltas interleaved', () => {
    const call = (index: number, fn: Body, extra: Body = {}) => ({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: { tool_calls: [{ index, ...extra, function: fn }] }, finish_reason: null }] });
    const { answer } = assemble('chat', [
      { id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: { role: 'assistant', content: null }, finish_reason: null }] },
      call(0, { name: 'get_weather', arguments: '' }, { id: 'call_a', type: 'function' }),
      call(0, { arguments: '{"city":' }),
      call(1, { name: 'get_time', arguments: '' }, { id: 'call_b', type: 'function' }),
      call(1, { arguments: '{"tz":"CET"}' }),
      call(0, { arguments: '"Oslo"}' }),
      { id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: {}, finish_reason: 'tool_calls' }] },
    ]);
    assert.deepEqual(answer.choices[0].message.tool_calls, [
      { id: 'call_a', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } },
      { id: 'call_b', type: 'function', function: { name: 'get_time', arguments: '{"tz":"CET"}' } },
    ]);
    assert.equal(answer.choices[0].message.content, null);
    assert.equal(answer.usage, undefined, 'no usage chunk: no usage');
    assertValid('CreateChatCompletionResponse', answer);
  });

  test('OpenAI-style logprobs, system_fingerprint, service_tier and usage details', () => {
    const head = { id: 'chatcmpl-AbC', object: 'chat.completion.chunk', created: 1731000000, model: 'gpt-4o-mini-2024-07-18', service_tier: 'default', system_fingerprint: 'fp_0ba0d124f1' };
    const entry = (token: string, logprob: number) => ({ token, logprob, bytes: [...Buffer.from(token)], top_logprobs: [{ token, logprob, bytes: [...Buffer.from(token)] }] });
    const usage = { prompt_tokens: 11, completion_tokens: 2, total_tokens: 13, prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 }, completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 } };
    const { answer, assembler } = assemble('chat', [
      { ...head, choices: [{ index: 0, delta: { role: 'assistant', content: '', refusal: null }, logprobs: { content: [], refusal: null }, finish_reason: null }], usage: null },
      { ...head, choices: [{ index: 0, delta: { content: 'Hi' }, logprobs: { content: [entry('Hi', -0.01)], refusal: null }, finish_reason: null }], usage: null },
      { ...head, choices: [{ index: 0, delta: { content: '!' }, logprobs: { content: [entry('!', -0.2)], refusal: null }, finish_reason: null }], usage: null },
      { ...head, choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }], usage: null },
      { ...head, choices: [], usage },
    ]);
    assert.deepEqual(answer, {
      id: 'chatcmpl-AbC',
      object: 'chat.completion',
      created: 1731000000,
      model: 'client-model',
      choices: [{ index: 0, message: { role: 'assistant', content: 'Hi!', refusal: null }, logprobs: { content: [entry('Hi', -0.01), entry('!', -0.2)], refusal: null }, finish_reason: 'stop' }],
      usage,
      service_tier: 'default',
      system_fingerprint: 'fp_0ba0d124f1',
    });
    assert.deepEqual(assembler.usage, { prompt_tokens: 11, completion_tokens: 2, total_tokens: 13 });
    assertValid('CreateChatCompletionResponse', answer);
  });

  test('n = 2: choices by index whatever order their chunks come in, each with its finish reason', () => {
    const c = (index: number, delta: Body, finish: string | null = null) => ({ id: 'x', object: 'chat.completion.chunk', created: 5, model: 'm', choices: [{ index, delta, logprobs: null, finish_reason: finish }] });
    const { answer } = assemble('chat', [
      c(1, { role: 'assistant', content: '' }),
      c(0, { role: 'assistant', content: '' }),
      c(1, { content: 'Second' }),
      c(0, { content: 'First' }),
      c(0, { content: ' one' }),
      c(1, {}, 'length'),
      c(0, {}, 'stop'),
      { id: 'x', object: 'chat.completion.chunk', created: 5, model: 'm', choices: [], usage: { prompt_tokens: 4, completion_tokens: 3, total_tokens: 7 } },
    ]);
    assert.deepEqual(answer.choices.map((ch: Body) => [ch.index, ch.message.content, ch.finish_reason]), [[0, 'First one', 'stop'], [1, 'Second', 'length']]);
    assertValid('CreateChatCompletionResponse', answer);
  });

  test('a reasoning model: reasoning_content kept apart from the content, as vLLM answers it whole', () => {
    const c = (delta: Body, finish: string | null = null) => ({ id: 'r', object: 'chat.completion.chunk', created: 5, model: 'm', choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] });
    const { answer } = assemble('chat', [c({ role: 'assistant', content: '' }), c({ reasoning_content: 'Two and ' }), c({ reasoning_content: 'two: four.' }), c({ content: '4' }), c({}, 'stop')]);
    assert.deepEqual(answer.choices[0].message, { role: 'assistant', content: '4', refusal: null, reasoning_content: 'Two and two: four.' });
    assertValid('CreateChatCompletionResponse', answer);
  });

  test('a refusal streamed in pieces', () => {
    const c = (delta: Body, finish: string | null = null) => ({ id: 'r', object: 'chat.completion.chunk', created: 5, model: 'm', choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] });
    const { answer } = assemble('chat', [c({ role: 'assistant', content: null, refusal: '' }), c({ refusal: "I can't " }), c({ refusal: 'help.' }), c({}, 'stop')]);
    assert.deepEqual(answer.choices[0].message, { role: 'assistant', content: null, refusal: "I can't help." });
  });
});

describe('completions', () => {
  test('two prompts, logprobs in the completions form appended with absolute offsets, echo', () => {
    const c = (index: number, text: string, lp: Body | null, finish: string | null = null) => ({ id: 'cmpl-7', object: 'text_completion', created: 9, model: 'm', choices: [{ index, text, logprobs: lp, finish_reason: finish }] });
    const lp = (token: string, logprob: number, offset: number) => ({ tokens: [token], token_logprobs: [logprob], top_logprobs: [{ [token]: logprob }], text_offset: [offset] });
    const { answer, assembler } = assemble('completions', [
      c(0, 'Say', { tokens: [], token_logprobs: [], top_logprobs: [], text_offset: [] }),
      c(0, ' yes', lp(' yes', -0.1, 3)),
      c(1, ' no', lp(' no', -0.3, 0)),
      c(0, '.', lp('.', -0.5, 7)),
      c(1, '', null, 'length'),
      c(0, '', null, 'stop'),
      { id: 'cmpl-7', object: 'text_completion', created: 9, model: 'm', choices: [], usage: { prompt_tokens: 6, completion_tokens: 3, total_tokens: 9 } },
    ]);
    assert.deepEqual(answer, {
      id: 'cmpl-7',
      object: 'text_completion',
      created: 9,
      model: 'client-model',
      choices: [
        { index: 0, text: 'Say yes.', logprobs: { tokens: [' yes', '.'], token_logprobs: [-0.1, -0.5], top_logprobs: [{ ' yes': -0.1 }, { '.': -0.5 }], text_offset: [3, 7] }, finish_reason: 'stop' },
        { index: 1, text: ' no', logprobs: { tokens: [' no'], token_logprobs: [-0.3], top_logprobs: [{ ' no': -0.3 }], text_offset: [0] }, finish_reason: 'length' },
      ],
      usage: { prompt_tokens: 6, completion_tokens: 3, total_tokens: 9 },
    });
    assert.deepEqual(assembler.usage, { prompt_tokens: 6, completion_tokens: 3, total_tokens: 9 });
    assertValid('CreateCompletionResponse', answer);
  });

  test('no logprobs asked: null; no usage sent: none', () => {
    const c = (text: string, finish: string | null = null) => ({ id: 'cmpl-1', object: 'text_completion', created: 9, model: 'm', choices: [{ index: 0, text, logprobs: null, finish_reason: finish }] });
    const { answer, assembler } = assemble('completions', [c(' a'), c(' b'), c('', 'stop')]);
    assert.deepEqual(answer.choices, [{ index: 0, text: ' a b', logprobs: null, finish_reason: 'stop' }]);
    assert.equal('usage' in answer, false);
    assert.equal(assembler.usage, undefined);
    assertValid('CreateCompletionResponse', answer);
  });
});

describe('broken or incomplete streams are refused', () => {
  const ok = vllmChunk('{"index":0,"delta":{"role":"assistant","content":"Hi"},"logprobs":null,"finish_reason":null}');
  const end = vllmChunk('{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}');
  test('an error event: upstream_unknown_error', () => assertRefused('chat', [ok, '{"error":{"message":"CUDA out of memory","code":500}}', end], 'upstream_unknown_error', 'error event'));
  test('a payload that is not JSON: upstream_invalid_response', () => assertRefused('chat', [ok, '{"choices":[{"index":0,"delta":{"content":"x"}]}', end], 'upstream_invalid_response', 'bad JSON'));
  test('a JSON payload that is no chunk: upstream_invalid_response', () => assertRefused('chat', [ok, '[1,2]', end], 'upstream_invalid_response', 'not a chunk'));
  test('no finish_reason before the end: upstream_invalid_response', () => assertRefused('chat', [ok, ok], 'upstream_invalid_response', 'unfinished'));
  test('one of two choices unfinished: upstream_invalid_response', () => {
    const second = ok.replace('"index":0', '"index":1');
    assertRefused('chat', [ok, second, end], 'upstream_invalid_response', 'choice 1 unfinished');
  });
  test('a choice missing (1 without 0): upstream_invalid_response', () => assertRefused('chat', [end.replace('"index":0', '"index":1')], 'upstream_invalid_response', 'hole'));
  test('no chunk at all: upstream_invalid_response', () => assertRefused('chat', [], 'upstream_invalid_response', 'empty'));
  test('a choice index that is not a small whole number: upstream_invalid_response', () => {
    for (const index of ['-1', '1.5', '"0"', '1e9']) assertRefused('chat', [end.replace('"index":0', `"index":${index}`)], 'upstream_invalid_response', `index ${index}`);
  });
});

// ---------------------------------------------------------------------------------------------
// The fast path (chunks matched against a template, not parsed) against an oracle that parses
// every chunk and concatenates each choice's delta.content.

/** Seeded, so a failure replays (the simulator's generator). */
const rng = mulberry32;

const TEXTS = [' fox', 'The', '', ' "quoted"', ' back\\slash', 'line\nbreak', '\u0001', 'é', '😀', '"content":"', '\\"', '{"error":1}', '\\u0041'];

const pick = (r: () => number) => TEXTS[Math.floor(r() * TEXTS.length)]!;

/** One payload of a generated stream: mostly plain content chunks, sometimes something else. */
function payload(r: () => number, text: string): string {
  const head = '"id":"c1","object":"chat.completion.chunk","created":1,"model":"m"';
  const t = JSON.stringify(text);
  const kind = r();
  if (kind < 0.06) return `{${head},"choices":[{"index":0,"delta":{"role":"assistant","content":${t}},"logprobs":null,"finish_reason":null}]}`;
  // Another "content" key ahead of delta.content, sometimes with the same value: it must never be
  // taken for delta.content (the same text twice in a row, then only the other one changing).
  if (kind < 0.12) {
    const other = JSON.stringify(r() < 0.5 ? text : pick(r));
    return `{${head},"x":{"content":${other}},"choices":[{"index":0,"delta":{"content":${r() < 0.5 ? t : '" fixed"'}},"logprobs":null,"finish_reason":null}]}`;
  }
  if (kind < 0.18) return `{${head},"choices":[{"index":0,"delta":{"content":${t}},"logprobs":{"content":[],"refusal":null},"finish_reason":null}]}`;
  if (kind < 0.22) return `{${head},"choices":[{"index":0,"delta":{"content":${t},"tool_calls":[{"index":0,"id":"t","type":"function","function":{"name":"f","arguments":"{}"}}]},"finish_reason":null}]}`;
  if (kind < 0.26) return `{${head},"choices":[{"index":0,"delta":{"content": ${t}},"logprobs":null,"finish_reason":null}]}`;
  return `{${head},"choices":[{"index":0,"delta":{"content":${t}},"logprobs":null,"finish_reason":null}]}`;
}

test('another "content" key ahead of delta.content is never taken for it', () => {
  // The first chunk has both at the same value; in the next ones only the other key changes.
  const chunk = (other: string) => `{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","x":{"content":"${other}"},"choices":[{"index":0,"delta":{"content":"a"},"logprobs":null,"finish_reason":null}]}`;
  const end = '{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]}';
  const { answer } = assemble('chat', [chunk('a'), chunk('b'), chunk('c'), end]);
  assert.equal(answer.choices[0].message.content, 'aaa');
});

test('skipping the parse of most chunks gives the text (and tool calls) that parsing every chunk gives', () => {
  const r = rng(20240611);
  for (let run = 0; run < 300; run++) {
    const payloads: string[] = [];
    const n = 1 + Math.floor(r() * 40);
    for (let i = 0; i < n; i++) payloads.push(payload(r, pick(r)));
    payloads.push('{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]}');
    let expected = '';
    let calls = 0;
    for (const p of payloads) {
      const delta = (JSON.parse(p) as Body).choices[0].delta;
      expected += delta.content ?? '';
      calls += delta.tool_calls ? 1 : 0;
    }
    const { answer } = assemble('chat', payloads);
    const message = answer.choices[0].message;
    const content = calls > 0 && expected === '' ? null : expected;
    assert.equal(message.content, content, `run ${run}:\n${payloads.join('\n')}`);
    assert.equal(message.tool_calls?.[0]?.function.arguments ?? '', '{}'.repeat(calls), `run ${run}: tool-call arguments`);
  }
});
