// Deterministic text for the simulator: the seed, the prompt and the choice index fix the words,
// the answer's natural length, and where a stop sequence cuts it.
import type { TokenLogprob } from './logprobs.js';
import { hashString, intBetween, mulberry32 } from './rng.js';
import { PUNCTUATION, WORDS } from './vocabulary.js';

export interface GeneratedChoice {
  /** The generated pieces, one token each: the text, or a tool call's arguments. */
  tokens: string[];
  finishReason: 'stop' | 'length' | 'tool_calls';
  /** Set when the choice is a tool call: `tokens` then spell its arguments. */
  toolCall?: { id: string; name: string };
  /** Only when the request asked for logprobs: one per token. */
  logprobs?: TokenLogprob[];
  /** Completions with echo: the prompt, sent before the generated text. */
  echo?: string;
}

export interface GenerateOptions {
  seed: number;
  prompt: string;
  index: number;
  maxTokens: number | undefined;
  stop: string[];
  lengthRange: { min: number; max: number };
}

export function generateChoice(o: GenerateOptions): GeneratedChoice {
  const rand = mulberry32(hashString(`${o.index}\u0000${o.prompt}`, o.seed >>> 0));
  const natural = intBetween(rand, Math.min(o.lengthRange.min, o.lengthRange.max), Math.max(o.lengthRange.min, o.lengthRange.max));
  const limit = o.maxTokens !== undefined && o.maxTokens < natural ? o.maxTokens : natural;
  const finishReason: GeneratedChoice['finishReason'] = limit < natural ? 'length' : 'stop';
  const tokens: string[] = [];
  let text = '';
  for (let i = 0; i < limit; i++) {
    const tok = i > 0 && rand() < 0.12 ? PUNCTUATION[intBetween(rand, 0, PUNCTUATION.length - 1)]! : ` ${WORDS[intBetween(rand, 0, WORDS.length - 1)]!}`;
    const next = text + tok;
    const cut = firstStop(next, o.stop);
    if (cut !== -1) {
      // The stop sequence is not part of the output; a partial token before it still is.
      const keep = next.slice(text.length, cut);
      if (keep) tokens.push(keep);
      return { tokens, finishReason: 'stop' };
    }
    tokens.push(tok);
    text = next;
  }
  return { tokens, finishReason };
}

/**
 * Pieces decided up front (a JSON answer, tool-call arguments) go out as a real engine would send
 * them: cut at max_tokens (finish_reason length, the JSON left unfinished) or at a stop sequence.
 */
export function limitPieces(pieces: string[], maxTokens: number | undefined, stop: string[]): GeneratedChoice {
  const limit = maxTokens !== undefined && maxTokens < pieces.length ? maxTokens : pieces.length;
  if (stop.length > 0) {
    let text = '';
    for (let i = 0; i < limit; i++) {
      const next = text + pieces[i]!;
      const cut = firstStop(next, stop);
      if (cut !== -1) {
        const tokens = pieces.slice(0, i);
        if (cut > text.length) tokens.push(next.slice(text.length, cut));
        return { tokens, finishReason: 'stop' };
      }
      text = next;
    }
  }
  return { tokens: limit < pieces.length ? pieces.slice(0, limit) : pieces, finishReason: limit < pieces.length ? 'length' : 'stop' };
}

function firstStop(text: string, stops: string[]): number {
  let at = -1;
  for (const s of stops) {
    if (!s) continue;
    const i = text.indexOf(s);
    if (i !== -1 && (at === -1 || i < at)) at = i;
  }
  return at;
}

/** A unit-length embedding vector derived from the text. */
export function embedText(text: string, seed: number, dimensions: number): number[] {
  const rand = mulberry32(hashString(text, seed >>> 0));
  const v = new Array<number>(dimensions);
  let norm = 0;
  for (let i = 0; i < dimensions; i++) {
    const x = rand() * 2 - 1;
    v[i] = x;
    norm += x * x;
  }
  const scale = norm > 0 ? 1 / Math.sqrt(norm) : 0;
  for (let i = 0; i < dimensions; i++) v[i] = v[i]! * scale;
  return v;
}

export function toBase64Floats(v: number[]): string {
  return Buffer.from(new Float32Array(v).buffer).toString('base64');
}
