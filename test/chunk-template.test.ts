// A stream payload is let through without JSON.parse only when that is sound: whenever the
// template says "matches", JSON.parse agrees the payload is a valid, plain chunk. Checked on
// generated streams with random text and random damage (seeded, so a failure reproduces).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mulberry32 } from '../src/sim/rng.js';
import { ChunkTemplate, stringEnd } from '../src/engines/openai/chunk-template.js';
import { toUsage } from '../src/engines/openai/stream-event.js';

/** Seeded, so a failure replays (the simulator's generator). */
const rng = mulberry32;

/** JSON.parse's verdict: a JSON object with choices, no error and no usage. */
function plainByParse(s: string): boolean {
  try {
    const v = JSON.parse(s) as Record<string, unknown>;
    return typeof v === 'object' && v !== null && !Array.isArray(v) && Array.isArray(v.choices) && v.error === undefined && toUsage(v.usage) === undefined;
  } catch {
    return false;
  }
}

const TEXTS = [' fox', 'The', '', ' "quoted"', ' back\\slash', 'line\nbreak', 'tab\t', '\u0001', 'é', '😀', '\ud800', '"content":"', '\\"', '{"error":1}'];
const DAMAGE = ['"', '\\', '}', ']', ',', ':', '\n', '\u0000', 'x', '\\u12', '"error":1,', '"usage":{"prompt_tokens":1},'];

function chunk(r: () => number, text: string): string {
  const extra = r() < 0.2 ? ',"usage":null' : r() < 0.1 ? ',"usage":{"prompt_tokens":3,"completion_tokens":1}' : '';
  return `{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":${JSON.stringify(text)}},"logprobs":null,"finish_reason":null}]${extra}}`;
}

function damage(s: string, r: () => number): string {
  const at = Math.floor(r() * (s.length + 1));
  const piece = DAMAGE[Math.floor(r() * DAMAGE.length)]!;
  const op = Math.floor(r() * 3);
  if (op === 0) return s.slice(0, at) + s.slice(at + 1);
  if (op === 1) return s.slice(0, at) + piece + s.slice(at);
  return s.slice(0, at) + piece + s.slice(at + piece.length);
}

test('a string token ends where JSON says, and bad escapes or raw control characters are refused', () => {
  assert.equal(stringEnd('ab"', 0), 2);
  assert.equal(stringEnd('a\\"b"', 0), 4);
  assert.equal(stringEnd('\\u00e9"', 0), 6);
  for (const bad of ['abc', 'a\nb"', '\\x"', '\\u12"', 'a\\']) assert.equal(stringEnd(bad, 0), -1, JSON.stringify(bad));
});

test('whenever a payload matches the template, JSON.parse finds it a valid plain chunk (40,000 payloads)', () => {
  const r = rng(20261123);
  let matched = 0;
  for (let stream = 0; stream < 2_000; stream++) {
    const template = new ChunkTemplate();
    for (let i = 0; i < 20; i++) {
      let data = chunk(r, TEXTS[Math.floor(r() * TEXTS.length)]! + (r() < 0.5 ? String(i) : ''));
      if (r() < 0.3) data = damage(data, r);
      if (template.matches(data)) {
        matched++;
        assert.ok(plainByParse(data), `let through without parsing, but not a valid plain chunk: ${JSON.stringify(data)}`);
      } else if (plainByParse(data)) {
        template.learn(data);
      }
    }
  }
  assert.ok(matched > 10_000, `most undamaged payloads skip the parse (${matched})`);
});

test('the stub engine framed-but-broken payload is never let through', () => {
  const template = new ChunkTemplate();
  template.learn('{"id":"chatcmpl-stub","object":"chat.completion.chunk","created":1,"model":"stub","choices":[{"index":0,"delta":{"role":"assistant","content":"Hello"},"logprobs":null,"finish_reason":null}]}');
  assert.equal(template.matches('{"id":"chatcmpl-stub","choices":[{"index":0,"delta":{"content":"x"}]}'), false);
});
