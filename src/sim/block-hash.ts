// A prompt's token ids cut into the prefix cache's blocks, each block named by a hash of its own
// ids and of the block before it, as vLLM names them (hash_block_tokens(parent_hash, token_ids) in
// vllm/v1/core/kv_cache_utils.py). The chain is what makes a block a hit only when everything
// before it is cached too: the same 16 tokens after a different history are another block. Only
// full blocks get a hash; the partial block at the end of a prompt is never cached, as on vLLM.
//
// The hash is two 32-bit multiply-rotate lanes (MurmurHash3's constants) joined into one 53-bit
// integer, so that it is a plain number (a fast Map key) and exact as a double. With at most a
// million blocks kept, a collision among them has odds of about 2^40 / 2^53: none in practice.

/** The parent of a prompt's first block. */
const ROOT = 0x1f3d5b79;
const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;
const TWO_32 = 2 ** 32;
const HIGH_MASK = 0x1fffff; // the 21 high bits of a 53-bit hash

function rotl(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

/** MurmurHash3's finalizer: every input bit reaches every output bit. */
function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Hash of one full block of ids, chained to its parent's hash. */
export function hashBlock(parent: number, ids: ArrayLike<number>, length = ids.length): number {
  let lo = parent % TWO_32 | 0;
  let hi = (Math.floor(parent / TWO_32) ^ 0x5bd1e995) | 0;
  for (let i = 0; i < length; i++) {
    const k = Math.imul(rotl(Math.imul(ids[i]! | 0, C1), 15), C2);
    lo = Math.imul(rotl(lo ^ k, 13), 5) + 0xe6546b64;
    hi = Math.imul(rotl(hi ^ k, 17), 9) + 0x38b34ae5;
  }
  return (fmix(hi ^ length) & HIGH_MASK) * TWO_32 + fmix(lo ^ length);
}

/**
 * Takes a prompt's ids in pieces of any size and keeps the hash of each block as it fills, so a
 * long prompt never needs its ids in one array.
 */
export class BlockHasher {
  /** Hashes of the full blocks so far, in order. */
  readonly blocks: number[] = [];
  /** Ids taken so far. */
  tokens = 0;
  private readonly buffer: Int32Array;
  private filled = 0;
  private parent = ROOT;

  constructor(readonly blockTokens: number) {
    this.buffer = new Int32Array(blockTokens);
  }

  push(ids: ArrayLike<number>): void {
    for (let i = 0; i < ids.length; i++) {
      this.buffer[this.filled++] = ids[i]!;
      if (this.filled === this.blockTokens) {
        this.parent = hashBlock(this.parent, this.buffer);
        this.blocks.push(this.parent);
        this.filled = 0;
      }
    }
    this.tokens += ids.length;
  }
}

/** The block hashes of a whole sequence of ids (tests, and prompts given as token ids). */
export function blockHashes(ids: ArrayLike<number>, blockTokens: number): number[] {
  const h = new BlockHasher(blockTokens);
  h.push(ids);
  return h.blocks;
}
