// The first look at a large body, on the offload worker: is it a JSON object, is it cheap enough
// to parse again on the event loop, and (for an inference endpoint) does it fit the schema? The
// answer is the first problem in the contract's order, as a plain value, or the decoded text.
import type { Endpoint } from '../engines/types.js';
import type { ErrorCode } from '../errors/catalog.js';
import { GatewayError } from '../errors/gateway-error.js';
import { checkBody } from '../openai/check-body.js';
import { prefixBlocks, type PromptPrefix } from '../routing/prefix-blocks.js';
import { checkDepth, parseJsonObject } from '../server/body.js';
import { MAX_PARSE_COST, parseCost } from '../server/parse-cost.js';

export interface BodyVerdict {
  code: ErrorCode;
  message: string;
  param: string | null;
}

/**
 * A problem, or the body's text: decoding UTF-8 is itself costly (3 MB of CJK took 16 ms), and
 * a string crosses back from the worker in a few, so the event loop is left only JSON.parse. A
 * chat or completions prompt comes back hashed for prefix-aware routing too (a pass over up to
 * 128 KiB), whether or not its model routes that way: the worker does not know the model.
 */
export type Inspection = { problem: BodyVerdict } | { text: string; prefix?: PromptPrefix };

export function inspectBody(bytes: Uint8Array, endpoint: Endpoint | undefined): Inspection {
  try {
    // 413 (too costly to parse) before any 400 but invalid JSON, which cannot be costed.
    const { value, text } = parseJsonObject(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), { checkDepth: false });
    if (parseCost(value) > MAX_PARSE_COST) {
      return { problem: { code: 'payload_too_large', param: null, message: 'The request body holds too many JSON values (objects, keys, array elements) to be parsed without slowing other requests; send fewer.' } };
    }
    checkDepth(value, bytes.byteLength);
    const problem = endpoint === undefined ? undefined : checkBody(endpoint, value);
    if (problem) return { problem: { code: 'invalid_parameter', ...problem } };
    return endpoint === 'chat' || endpoint === 'completions' ? { text, prefix: prefixBlocks(value, endpoint) } : { text };
  } catch (err) {
    if (err instanceof GatewayError) return { problem: { code: err.code, message: err.message, param: err.param } };
    throw err;
  }
}
