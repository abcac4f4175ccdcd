// Writes a tiny random-weight llama-architecture model (~0.5 MB GGUF) and a LoRA adapter for it,
// from a fixed seed and no download: what the local engine's tests and CI run real inference on.
// The model has a SentencePiece-style vocabulary (tokenizer.ggml.model "llama": a few words, the
// letters, the 256 byte-fallback tokens) and a ChatML chat template, so llama.cpp tokenizes,
// detokenizes and renders chats with it as with a real model. Its answers are gibberish words.
//
//   node dist/scripts/make-tiny-gguf.js DIR [--seed N]   writes DIR/tiny-llama.gguf and DIR/tiny-lora.gguf
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { mulberry32 } from '../src/sim/rng.js';
import { encodeGguf, type MetaValue, type Tensor } from './gguf-writer.js';

export const TINY = { embedding: 64, layers: 2, heads: 4, kvHeads: 2, feedForward: 96, contextLength: 2048, loraRank: 4 } as const;

const TYPE = { normal: 1, unknown: 2, control: 3, byte: 6 } as const;

const WORDS = ['hello', 'world', 'the', 'and', 'say', 'hi', 'write', 'long', 'essay', 'of', 'to', 'in', 'it', 'you', 'that',
  'was', 'for', 'on', 'are', 'with', 'as', 'they', 'be', 'at', 'one', 'have', 'this', 'from', 'user', 'assistant', 'system',
  'tell', 'me', 'story', 'about', 'river', 'sluice', 'gate', 'water', 'count'];

/** Tokens, scores and types: specials, the byte-fallback tokens, characters, then word pieces. */
function vocabulary(): { tokens: string[]; scores: number[]; types: number[] } {
  const tokens: string[] = ['<unk>', '<s>', '</s>', '<|im_start|>', '<|im_end|>'];
  const types: number[] = [TYPE.unknown, TYPE.control, TYPE.control, TYPE.control, TYPE.control];
  const scores: number[] = [0, 0, 0, 0, 0];
  for (let b = 0; b < 256; b++) {
    tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
    types.push(TYPE.byte);
    scores.push(0);
  }
  const pieces = new Set<string>(['▁']);
  for (const c of 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,!?\'-:;') pieces.add(c);
  // SentencePiece merges pairs of adjacent pieces only into pieces in the vocabulary: every
  // prefix of "▁word" is one, so each word merges up to a single token.
  for (const w of WORDS) for (let i = 2; i <= w.length + 1; i++) pieces.add(`▁${w}`.slice(0, i));
  for (const p of pieces) {
    tokens.push(p);
    types.push(TYPE.normal);
    // Longer pieces win the merges.
    scores.push(-100 + [...p].length);
  }
  return { tokens, scores, types };
}


function randomTensor(name: string, dims: number[], scale: number, next: () => number): Tensor {
  const data = new Float32Array(dims.reduce((a, b) => a * b, 1));
  for (let i = 0; i < data.length; i++) data[i] = (next() * 2 - 1) * scale;
  return { name, dims, data };
}

function ones(name: string, n: number): Tensor {
  return { name, dims: [n], data: new Float32Array(n).fill(1) };
}

const CHATML = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

export function tinyModel(seed: number): Buffer {
  const next = mulberry32(seed);
  const { embedding: d, layers, heads, kvHeads, feedForward: ff } = TINY;
  const { tokens, scores, types } = vocabulary();
  const kvDim = (d / heads) * kvHeads;
  const metadata: Record<string, MetaValue> = {
    'general.architecture': 'llama',
    'general.name': 'sluice-tiny-llama',
    'general.file_type': { u32: 0 }, // all F32
    'llama.context_length': { u32: TINY.contextLength },
    'llama.embedding_length': { u32: d },
    'llama.block_count': { u32: layers },
    'llama.feed_forward_length': { u32: ff },
    'llama.attention.head_count': { u32: heads },
    'llama.attention.head_count_kv': { u32: kvHeads },
    'llama.rope.dimension_count': { u32: d / heads },
    'llama.rope.freq_base': { f32: 10000 },
    'llama.attention.layer_norm_rms_epsilon': { f32: 1e-5 },
    'llama.vocab_size': { u32: tokens.length },
    'tokenizer.ggml.model': 'llama',
    'tokenizer.ggml.tokens': { strings: tokens },
    'tokenizer.ggml.scores': { f32s: scores },
    'tokenizer.ggml.token_type': { i32s: types },
    'tokenizer.ggml.unknown_token_id': { u32: 0 },
    'tokenizer.ggml.bos_token_id': { u32: 1 },
    'tokenizer.ggml.eos_token_id': { u32: 4 },
    'tokenizer.ggml.add_bos_token': { bool: true },
    'tokenizer.ggml.add_eos_token': { bool: false },
    'tokenizer.chat_template': CHATML,
  };
  const embd = randomTensor('token_embd.weight', [d, tokens.length], 1, next);
  // Output rows of control and byte tokens are zero, other logits random: greedy decoding never
  // ends a generation on its own (the tests stop it with max_tokens or by disconnecting) and
  // writes words rather than stray bytes.
  const output = randomTensor('output.weight', [d, tokens.length], 1, next);
  types.forEach((t, id) => {
    if (t !== TYPE.normal) output.data.fill(0, id * d, (id + 1) * d);
  });
  const tensors: Tensor[] = [embd, ones('output_norm.weight', d), output];
  const w = (n: number) => 1 / Math.sqrt(n);
  for (let i = 0; i < layers; i++) {
    tensors.push(
      ones(`blk.${i}.attn_norm.weight`, d),
      randomTensor(`blk.${i}.attn_q.weight`, [d, d], w(d), next),
      randomTensor(`blk.${i}.attn_k.weight`, [d, kvDim], w(d), next),
      randomTensor(`blk.${i}.attn_v.weight`, [d, kvDim], w(d), next),
      randomTensor(`blk.${i}.attn_output.weight`, [d, d], w(d), next),
      ones(`blk.${i}.ffn_norm.weight`, d),
      randomTensor(`blk.${i}.ffn_gate.weight`, [d, ff], w(d), next),
      randomTensor(`blk.${i}.ffn_up.weight`, [d, ff], w(d), next),
      randomTensor(`blk.${i}.ffn_down.weight`, [ff, d], w(ff), next),
    );
  }
  return encodeGguf(metadata, tensors);
}

/**
 * A LoRA adapter for the tiny model, as llama.cpp's convert_lora_to_gguf.py writes one: for a
 * weight W of ggml shape [in, out], `W.lora_a` is [in, r] and `W.lora_b` is [r, out]. It adapts
 * the attention and feed-forward projections strongly enough that greedy answers change.
 */
export function tinyLora(seed: number): Buffer {
  const next = mulberry32(seed ^ 0x5eed);
  const { embedding: d, layers, heads, kvHeads, feedForward: ff, loraRank: r } = TINY;
  const kvDim = (d / heads) * kvHeads;
  const tensors: Tensor[] = [];
  for (let i = 0; i < layers; i++) {
    for (const [name, input, out] of [['attn_q', d, d], ['attn_v', d, kvDim], ['attn_output', d, d], ['ffn_up', d, ff], ['ffn_down', ff, d]] as const) {
      tensors.push(
        randomTensor(`blk.${i}.${name}.weight.lora_a`, [input, r], 1 / Math.sqrt(input), next),
        randomTensor(`blk.${i}.${name}.weight.lora_b`, [r, out], 1, next),
      );
    }
  }
  return encodeGguf({
    'general.architecture': 'llama',
    'general.type': 'adapter',
    'general.name': 'sluice-tiny-lora',
    'adapter.type': 'lora',
    'adapter.lora.alpha': { f32: r },
  }, tensors);
}

export interface TinyFiles {
  modelPath: string;
  loraPath: string;
}

export function writeTinyModelFiles(dir: string, seed = 1): TinyFiles {
  mkdirSync(dir, { recursive: true });
  const modelPath = join(dir, 'tiny-llama.gguf');
  const loraPath = join(dir, 'tiny-lora.gguf');
  writeFileSync(modelPath, tinyModel(seed));
  writeFileSync(loraPath, tinyLora(seed));
  return { modelPath, loraPath };
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const [dir, flag, value] = process.argv.slice(2);
  if (!dir || (flag !== undefined && (flag !== '--seed' || !/^\d+$/.test(value ?? '')))) {
    process.stderr.write('usage: make-tiny-gguf DIR [--seed N]\n');
    process.exit(2);
  }
  const files = writeTinyModelFiles(dir, value === undefined ? 1 : Number(value));
  process.stdout.write(`${files.modelPath}\n${files.loraPath}\n`);
}
