// The OpenAI wire shapes of the local engine's answers: chat.completion and text_completion
// bodies, their stream chunks, and the embeddings list, as OpenAI sends them (the same shapes as
// the simulator's, src/sim/render.ts). One choice: the engine refuses n > 1.
import type { Usage } from '../types.js';

export type FinishReason = 'stop' | 'length';

interface Head {
  id: string;
  created: number;
  model: string;
}

type Chunk = Record<string, unknown>;

export function chatAnswer(head: Head, content: string, finish: FinishReason, usage: Usage): Chunk {
  return {
    id: head.id,
    object: 'chat.completion',
    created: head.created,
    model: head.model,
    choices: [{ index: 0, message: { role: 'assistant', content, refusal: null }, logprobs: null, finish_reason: finish }],
    usage,
  };
}

export function completionAnswer(head: Head, text: string, finish: FinishReason, usage: Usage): Chunk {
  return {
    id: head.id,
    object: 'text_completion',
    created: head.created,
    model: head.model,
    choices: [{ index: 0, text, logprobs: null, finish_reason: finish }],
    usage,
  };
}

export function chunkHead(chat: boolean, id: string, created: number, model: string): Chunk {
  return { id, object: chat ? 'chat.completion.chunk' : 'text_completion', created, model };
}

/** Chat's first chunk (the assistant role), or completions' echo of the prompt; else nothing. */
export function openingChunk(head: Chunk, chat: boolean, echo: string | undefined): Chunk | undefined {
  if (chat) return { ...head, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }] };
  if (echo === undefined) return undefined;
  return { ...head, choices: [{ index: 0, text: echo, logprobs: null, finish_reason: null }] };
}

export function textChunk(head: Chunk, chat: boolean, text: string): Chunk {
  return chat
    ? { ...head, choices: [{ index: 0, delta: { content: text }, logprobs: null, finish_reason: null }] }
    : { ...head, choices: [{ index: 0, text, logprobs: null, finish_reason: null }] };
}

export function finishChunk(head: Chunk, chat: boolean, finish: FinishReason): Chunk {
  return chat
    ? { ...head, choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: finish }] }
    : { ...head, choices: [{ index: 0, text: '', logprobs: null, finish_reason: finish }] };
}

export function usageChunk(head: Chunk, usage: Usage): Chunk {
  return { ...head, choices: [], usage };
}

/** Little-endian float32s in base64, as OpenAI sends `encoding_format: "base64"`. */
function base64Floats(v: readonly number[]): string {
  const f = new Float32Array(v);
  return Buffer.from(f.buffer, f.byteOffset, f.byteLength).toString('base64');
}

export function embeddingsAnswer(model: string, vectors: (readonly number[])[], base64: boolean, usage: Usage): string {
  return JSON.stringify({
    object: 'list',
    model,
    data: vectors.map((v, index) => ({ object: 'embedding', index, embedding: base64 ? base64Floats(v) : v })),
    usage: { prompt_tokens: usage.prompt_tokens, total_tokens: usage.total_tokens },
  });
}
