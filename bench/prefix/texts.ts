// The prefix benchmark's texts, drawn from a seeded generator: long system prompts and tool
// definitions that many conversations share, and the messages and tool results that make each
// conversation's history its own. Words of the simulator's vocabulary, so every word is about one
// token on the simulator's tokenizer and a text of n words is about n tokens long.
import { intBetween } from '../../src/sim/rng.js';
import { WORDS } from '../../src/sim/vocabulary.js';

type Rand = () => number;

/** Sentences of 6 to 16 words totalling about `words` words. */
export function prose(rand: Rand, words: number): string {
  const sentences: string[] = [];
  let left = words;
  while (left > 0) {
    const n = Math.min(left, intBetween(rand, 6, 16));
    const ws = Array.from({ length: n }, () => WORDS[intBetween(rand, 0, WORDS.length - 1)]!);
    ws[0] = ws[0]!.charAt(0).toUpperCase() + ws[0]!.slice(1);
    sentences.push(`${ws.join(' ')}.`);
    left -= n;
  }
  return sentences.join(' ');
}

/** An OpenAI function tool whose description and parameter descriptions are prose. */
function tool(rand: Rand, name: string): Record<string, unknown> {
  const params = intBetween(rand, 2, 3);
  const properties: Record<string, unknown> = {};
  for (let i = 0; i < params; i++) {
    // Short enumerated or integer arguments: a call's arguments stay a few dozen tokens.
    properties[`arg_${i}`] = i === 0
      ? { type: 'string', enum: ['read', 'list', 'search', 'update'], description: prose(rand, intBetween(rand, 10, 20)) }
      : { type: 'integer', minimum: 0, maximum: 999, description: prose(rand, intBetween(rand, 10, 20)) };
  }
  return {
    type: 'function',
    function: { name, description: prose(rand, intBetween(rand, 40, 70)), parameters: { type: 'object', properties, required: Object.keys(properties) } },
  };
}

/** A tool set of `count` tools: ~100 words each with their JSON, so 8 of them are ~900 tokens. */
export function toolSet(rand: Rand, prefix: string, count: number): Array<Record<string, unknown>> {
  return Array.from({ length: count }, (_, i) => tool(rand, `${prefix}_${i}`));
}
