// A request's prompt as a chain of block hashes, for prefix-aware routing: the text an engine
// renders into its prompt (tool definitions, then each message), cut into fixed-size blocks of
// characters, each block's hash covering everything before it (as vLLM's prefix cache hashes its
// token blocks, Kwon et al., SOSP 2023). Two requests share a leading run of block hashes exactly
// when they share that much leading text, so the longest run the gateway remembers sending to a
// deployment says how much of the prompt that engine probably still has cached.
//
// Characters, not tokens: tokenizing would cost the hot path (the exact count runs off the event
// loop, when at all); the engine's blocks and these do not line up, but the index only has to say
// which engine saw which prefix, not how many tokens exactly. The cost is one pass of a small
// multiply-xor hash over at most MAX_BLOCKS blocks of text.

/** Characters per block: ~64 tokens of English, four of vLLM's 16-token blocks. */
export const BLOCK_CHARS = 256;
/** Blocks hashed at most (128 KiB of text): a longer shared prefix is as good as this much. */
export const MAX_BLOCKS = 512;

const FNV_PRIME = 0x01000193;
const SEPARATOR = 0x1e; // record separator: "ab" + "c" and "a" + "bc" hash differently

/** Hashes text in blocks of BLOCK_CHARS, each chained to the previous block's hash. */
class BlockHasher {
  readonly hashes: number[] = [];
  /** Two 32-bit FNV-1a lanes with different seeds: a 53-bit key, so index collisions are negligible. */
  private h1 = 0x811c9dc5;
  private h2 = 0x050c5d1f;
  private fill = 0;

  get full(): boolean {
    return this.hashes.length >= MAX_BLOCKS;
  }

  feed(text: string): void {
    for (let i = 0; i < text.length && !this.full; i++) this.char(text.charCodeAt(i));
  }

  separate(): void {
    if (!this.full) this.char(SEPARATOR);
  }

  /** The running hash, mid-block too: a key for what has been fed so far. */
  get state(): number {
    return this.h1 * 0x200000 + (this.h2 & 0x1fffff);
  }

  private char(c: number): void {
    this.h1 = Math.imul(this.h1 ^ c, FNV_PRIME) >>> 0;
    this.h2 = Math.imul(this.h2 ^ c, 0x01000197) >>> 0;
    if (++this.fill === BLOCK_CHARS) {
      // The next block starts from this one's state: the chain.
      this.hashes.push(this.state);
      this.fill = 0;
    }
  }
}

function feedContent(h: BlockHasher, content: unknown): void {
  if (typeof content === 'string') return h.feed(content);
  if (!Array.isArray(content)) return;
  for (const part of content as Array<Record<string, unknown>>) {
    if (typeof part.text === 'string') h.feed(part.text);
  }
}

function feedJson(h: BlockHasher, value: unknown): void {
  if (value !== undefined && value !== null) h.feed(JSON.stringify(value));
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
  const h = new BlockHasher();
  let key: number | undefined;
  let keyBlocks = 0;
  if (endpoint === 'chat') {
    // Tool definitions first: chat templates render them near the top, before the conversation.
    feedJson(h, body.tools);
    feedJson(h, body.functions);
    for (const m of body.messages as Array<Record<string, unknown>>) {
      if (h.full) break;
      h.separate();
      if (typeof m.role === 'string') h.feed(m.role);
      h.separate();
      feedContent(h, m.content);
      feedJson(h, m.tool_calls);
      if (typeof m.tool_call_id === 'string') h.feed(m.tool_call_id);
      if (key === undefined && !OPENING_ROLES.has(m.role as string)) {
        key = h.state;
        keyBlocks = h.hashes.length;
      }
    }
  } else if (endpoint === 'completions') {
    const p = body.prompt;
    const first = Array.isArray(p) ? p[0] : p;
    if (typeof first === 'string') h.feed(first);
    // A completions prompt has no turns: its first blocks stand for it.
    keyBlocks = Math.min(h.hashes.length, 8);
    key = h.hashes[keyBlocks - 1];
  }
  return { blocks: h.hashes, key: key ?? h.state, keyBlocks: key === undefined ? h.hashes.length : keyBlocks };
}
