// A request's prompts as the simulated engine sees them: the sequence its prefix cache hashes, and
// what its count adds to the tokens of that sequence's texts. No tokenizing here (that runs on the
// worker): only which texts, in which order.
//
// The texts are the ones the gateway counts (promptsOf in src/tokenize/prompt.ts), so the
// simulator's count is the gateway's. Their order is the one a chat template renders: tool
// definitions first (vLLM's templates put them in the system block or the first user turn), then
// each message behind a role marker, then the marker that opens the reply. A conversation's next
// turn therefore extends the previous turn's sequence, and requests that share a system prompt and
// tools share a prefix, as on a real engine.
import type { Endpoint } from '../engines/types.js';
import { promptsOf } from '../tokenize/prompt.js';
import type { PromptPart } from './prompt-blocks.js';

export interface PromptParts {
  parts: PromptPart[];
  /** Tokens of the prompt that are not in its texts: ids given as such, chat role markers. */
  fixedTokens: number;
}

type Body = Record<string, unknown>;

/** Ids past every vocabulary for `<|im_start|>`, each role, and the newline after it (3 tokens, as counted). */
const MARK = 0x7f00_0000;
const ROLES: Record<string, number> = { system: 1, developer: 2, user: 3, assistant: 4, tool: 5, function: 6 };
const header = (role: unknown): number[] => [MARK, MARK + (ROLES[String(role)] ?? 255), MARK + 256];

function chatParts(body: Body): PromptParts {
  const messages = body.messages as unknown[];
  // Everything but the messages (tools, functions): promptsOf with no messages gives its texts and
  // the reply's fixed tokens; each message alone adds its own texts and fixed tokens on top of
  // that. Summed, the texts and fixed tokens are the whole prompt's, whatever promptsOf reads.
  const rest = promptsOf({ ...body, messages: [] }, 'chat')[0]!;
  const parts: PromptPart[] = [...rest.texts];
  let fixedTokens = rest.fixedTokens;
  for (const m of messages) {
    const one = promptsOf({ messages: [m] }, 'chat')[0]!;
    parts.push(header((m as Body | null)?.role), ...one.texts);
    fixedTokens += one.fixedTokens - rest.fixedTokens;
  }
  parts.push(header('assistant'));
  return { parts, fixedTokens };
}

/** Completions prompts and embeddings inputs: each a text or token ids (then the suffix, if any). */
function listParts(body: Body, endpoint: 'completions' | 'embeddings'): PromptParts[] {
  const counted = promptsOf(body, endpoint);
  const value = endpoint === 'completions' ? body.prompt : body.input;
  const items = !Array.isArray(value) || value.length === 0 || typeof value[0] === 'number' ? [value] : value;
  // The strings are promptsOf's own (the text, then the suffix); token ids lead when given.
  return counted.map((c, i) => ({ parts: Array.isArray(items[i]) ? [items[i] as number[], ...c.texts] : c.texts, fixedTokens: c.fixedTokens }));
}

export function promptParts(body: Body, endpoint: Endpoint): PromptParts[] {
  return endpoint === 'chat' ? [chatParts(body)] : listParts(body, endpoint);
}
