// A request's prompt as a chain of block hashes, for prefix-aware routing: the text an engine
// renders into its prompt (tool definitions, then each message), cut into fixed-size blocks of
// bytes, each block's hash covering everything before it (as vLLM's prefix cache hashes its
// token blocks, Kwon et al., SOSP 2023). Two requests share a leading run of block hashes exactly
// when they share that much leading text, so the longest run the gateway remembers sending to a
// deployment says how much of the prompt that engine probably still has cached.
//
// Text, not tokens: tokenizing would cost the hot path (the exact count runs off the event
// loop, when at all); the engine's blocks and these do not line up, but the index only has to say
// which engine saw which prefix, not how many tokens exactly. The cost is one pass of a small
// hash over at most MAX_BLOCKS blocks of the prompt's UTF-8 bytes (~0.7 µs a KB here); bodies
// large enough to be inspected on the offload worker are hashed there (offload/inspect-body.ts).

/** Bytes (UTF-8) per block: ~64 tokens of English, four of vLLM's 16-token blocks. */
export const BLOCK_BYTES = 256;
/** Blocks hashed at most (128 KiB of text): a longer shared prefix is as good as this much. */
export const MAX_BLOCKS = 512;

const CAPACITY = BLOCK_BYTES * MAX_BLOCKS;
const SEPARATOR = 0x1e; // record separator: "ab" + "c" and "a" + "bc" hash differently

/**
 * The prompt's text is written here as UTF-8 (native, ~0.1 ns a byte) and hashed a 32-bit word
 * at a time: reading a JS string with charCodeAt alone cost ~2 ns a character. One per thread,
 * used synchronously: no two prompts are in it at once.
 */
const scratch = Buffer.allocUnsafeSlow(CAPACITY + 8);
const words = new Int32Array(scratch.buffer, scratch.byteOffset, scratch.length >> 2);

/** Writes a prompt's parts into `scratch`, each part ended by separators up to a word boundary. */
class PromptWriter {
  length = 0;

  get full(): boolean {
    return this.length >= CAPACITY;
  }

  text(s: string): void {
    // Node writes only whole characters: a part cut at the capacity ends on a character boundary.
    if (!this.full) this.length += scratch.write(s, this.length, CAPACITY - this.length, 'utf8');
  }

  json(value: unknown): void {
    if (value !== undefined && value !== null) this.text(JSON.stringify(value));
  }

  /** Ends a part: at least one separator, then more up to a 4-byte boundary (so no stale byte is hashed). */
  separate(): void {
    if (this.full) return;
    scratch[this.length++] = SEPARATOR;
    while ((this.length & 3) !== 0) scratch[this.length++] = SEPARATOR;
  }
}

/**
 * Chained block hashes of the first `length` bytes of `scratch` (a multiple of 4), and the running
 * hash at byte `keyAt`. Two 32-bit lanes, murmur3's block step and a multiply-xorshift (both
 * spread every input bit), make a 53-bit key: index collisions are negligible.
 */
function hashBlocks(length: number, keyAt: number): { blocks: number[]; key: number } {
  const blocks: number[] = [];
  const n = length >> 2;
  const keyWord = keyAt >> 2;
  let h1 = 0x811c9dc5 | 0;
  let h2 = 0x050c5d1f;
  let key = 0;
  for (let i = 0; i < n; i++) {
    const w = words[i]!;
    let k = Math.imul(w, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    h1 ^= Math.imul(k, 0x1b873593);
    h1 = (h1 << 13) | (h1 >>> 19);
    h1 = (Math.imul(h1, 5) + 0xe6546b64) | 0;
    h2 = Math.imul(h2 ^ w, 0x01000193);
    h2 ^= h2 >>> 15;
    if (i + 1 === keyWord) key = (h1 >>> 0) * 0x200000 + (h2 & 0x1fffff);
    // A block ends every 64 words; the next starts from this one's state: the chain.
    if ((i & 63) === 63) blocks.push((h1 >>> 0) * 0x200000 + (h2 & 0x1fffff));
  }
  if (keyWord === 0 || keyWord > n) key = (h1 >>> 0) * 0x200000 + (h2 & 0x1fffff);
  return { blocks, key };
}

function writeContent(w: PromptWriter, content: unknown): void {
  if (typeof content === 'string') return w.text(content);
  if (!Array.isArray(content)) return;
  for (const part of content as Array<Record<string, unknown>>) {
    if (typeof part.text === 'string') w.text(part.text);
  }
}

/** A prompt for prefix-aware routing: its chain of full blocks, and its conversation's key. */
export interface PromptPrefix {
  blocks: number[];
  /**
   * The hash of the prompt up to the end of the conversation's first user message (its tools and
   * system prompt included): the same in every turn of a conversation and different between
   * conversations that share only a system prompt. Placement of a conversation no replica knows
   * yet is by this key, so its turns meet on one deployment whichever replica gets them.
   */
  key: number;
  /**
   * Full blocks before the key's point: the opening (tools, system prompt, first message) that many
   * conversations may share. A deployment holding only these is no home for this conversation.
   */
  keyBlocks: number;
}

const OPENING_ROLES = new Set(['system', 'developer']);

/** The prefix of a validated chat or completions body; only full blocks are in `blocks`. */
export function prefixBlocks(body: Record<string, unknown>, endpoint: 'chat' | 'completions' | 'embeddings'): PromptPrefix {
  const w = new PromptWriter();
  /** Where the conversation's key ends (bytes), once its first non-opening message is written. */
  let keyAt: number | undefined;
  if (endpoint === 'chat') {
    // Tool definitions first: chat templates render them near the top, before the conversation.
    w.json(body.tools);
    w.json(body.functions);
    for (const m of body.messages as Array<Record<string, unknown>>) {
      if (w.full) break;
      w.separate();
      if (typeof m.role === 'string') w.text(m.role);
      w.separate();
      writeContent(w, m.content);
      w.json(m.tool_calls);
      if (typeof m.tool_call_id === 'string') w.text(m.tool_call_id);
      if (keyAt === undefined && !OPENING_ROLES.has(m.role as string)) {
        w.separate();
        keyAt = w.length;
      }
    }
  } else if (endpoint === 'completions') {
    const p = body.prompt;
    const first = Array.isArray(p) ? p[0] : p;
    if (typeof first === 'string') w.text(first);
    // A completions prompt has no turns: its first blocks (at most 8) stand for it.
    w.separate();
    keyAt = Math.min(w.length & ~(BLOCK_BYTES - 1), 8 * BLOCK_BYTES);
  }
  w.separate();
  const length = Math.min(w.length, CAPACITY);
  const { blocks, key } = hashBlocks(length, keyAt ?? length);
  // keyBlocks: full blocks before the key's point (all of them when there is no key point).
  return { blocks, key, keyBlocks: keyAt === undefined ? blocks.length : Math.floor(keyAt / BLOCK_BYTES) };
}
