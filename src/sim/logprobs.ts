// Log probabilities for generated tokens, made up but plausible: the chosen token is the most
// likely one (it comes first among the alternatives), probabilities of a position sum to under 1,
// and the alternatives are distinct vocabulary tokens. Computed only when a request asks, from a
// stream of its own, so asking for logprobs never changes the text.
import { hashString, mulberry32 } from './rng.js';
import { PUNCTUATION, WORDS } from './vocabulary.js';

export interface Alternative {
  token: string;
  logprob: number;
}

export interface TokenLogprob extends Alternative {
  /** The chosen token first, then `top - 1` others in falling order; empty when top is 0. */
  top: Alternative[];
  /** Where the token starts in the choice's text: completions' text_offset. */
  offset: number;
}

/** What the request asked for: chat's top_logprobs (0–20) or completions' logprobs (0–5). */
export interface LogprobsAsk {
  endpoint: 'chat' | 'completions';
  top: number;
}

const VOCAB = [...new Set([...WORDS.map((w) => ` ${w}`), ...PUNCTUATION])];

/**
 * One entry per token. Chat's top_logprobs: n lists n tokens (none for 0); completions' logprobs: n
 * lists n but always the sampled one, so at least one.
 */
export function tokenLogprobs(tokens: readonly string[], ask: LogprobsAsk, seed: number, key: string, startOffset: number): TokenLogprob[] {
  const rand = mulberry32(hashString(`logprobs\u0000${key}`, seed >>> 0));
  const want = ask.endpoint === 'chat' ? ask.top : Math.max(1, ask.top);
  const out: TokenLogprob[] = [];
  let offset = startOffset;
  for (const token of tokens) {
    // p in [0.4, 0.99]: every alternative gets at most half of what is left, (1 - p) / 2 <= 0.3 < p.
    const p = 0.4 + 0.59 * rand();
    const logprob = round(Math.log(p));
    const top: Alternative[] = [];
    if (want > 0) {
      top.push({ token, logprob });
      const taken = new Set([token]);
      // Alternative j gets (1 - p) * 2^-(j+1) * [0.6, 1): strictly falling, summing below 1 - p.
      for (let j = 0; top.length < want && j < 64; j++) {
        const alt = VOCAB[Math.floor(rand() * VOCAB.length)]!;
        if (taken.has(alt)) continue;
        taken.add(alt);
        const q = (1 - p) * 2 ** -top.length * (0.6 + 0.4 * rand());
        top.push({ token: alt, logprob: round(Math.log(q)) });
      }
    }
    out.push({ token, logprob, top, offset });
    offset += token.length;
  }
  return out;
}

function round(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}

/** UTF-8 bytes of a token as OpenAI lists them: an array of ints. */
export function utf8Bytes(token: string): number[] {
  return Array.from(Buffer.from(token, 'utf8'));
}

/** Chat's shape of one token: { token, logprob, bytes, top_logprobs }. */
export function chatEntry(t: TokenLogprob): Record<string, unknown> {
  return {
    token: t.token,
    logprob: t.logprob,
    bytes: utf8Bytes(t.token),
    top_logprobs: t.top.map((a) => ({ token: a.token, logprob: a.logprob, bytes: utf8Bytes(a.token) })),
  };
}

/** Chat's choice-level logprobs for some tokens. */
export function chatLogprobs(ts: readonly TokenLogprob[]): Record<string, unknown> {
  return { content: ts.map(chatEntry), refusal: null };
}

/** Completions' choice-level logprobs: parallel arrays, top_logprobs a token → logprob map per token. */
export function completionLogprobs(ts: readonly TokenLogprob[]): Record<string, unknown> {
  return {
    tokens: ts.map((t) => t.token),
    token_logprobs: ts.map((t) => t.logprob),
    top_logprobs: ts.map((t) => Object.fromEntries(t.top.map((a) => [a.token, a.logprob]))),
    text_offset: ts.map((t) => t.offset),
  };
}
