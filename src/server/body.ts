// Reads a JSON request body under a size limit and a time limit, and parses it safely.
// Order matches the contract: 413 from content-length before reading, 413 while reading a chunked
// body, 408 when the body arrives too slowly, then 400 for anything that is not a JSON object.
import type { IncomingMessage } from 'node:http';
import secureJson from 'secure-json-parse';
import { GatewayError } from '../errors/gateway-error.js';
import { discardRest } from './linger.js';
import type { Endpoint } from '../engines/types.js';
import { offload } from '../offload/offload.js';
import type { PromptPrefix } from '../routing/prefix-blocks.js';

export interface BodyLimits {
  maxBytes: number;
  timeoutMs: number;
}

/** Deeper than this is never a real OpenAI request, and would overflow recursive serializers. */
const MAX_DEPTH = 64;
const utf8 = new TextDecoder('utf-8', { fatal: true });
// The connection is closed after a body error: the rest of the body may still be on its way.
const CLOSE = { connection: 'close' };

function checkContentType(req: IncomingMessage): void {
  const ct = req.headers['content-type'];
  if (ct === undefined) return; // curl and some clients send none: the body is still parsed as JSON
  const type = ct.split(';')[0]!.trim().toLowerCase();
  if (type === 'application/json' || type.endsWith('+json') || type === 'text/plain' || type === 'application/x-www-form-urlencoded' || type === '') return;
  throw new GatewayError('unsupported_content_type', { message: `The request body must be JSON; got content-type ${JSON.stringify(type.slice(0, 100))}.`, headers: CLOSE });
}

// No connection: close here: the rest of the body is read and discarded (linger.ts), after which
// the connection can serve the client's next request.
function tooLarge(limit: number): GatewayError {
  return new GatewayError('payload_too_large', { message: `The request body exceeds the limit of ${limit} bytes.` });
}

/**
 * The body's bytes, under the size and time limits. Written against the stream's own events
 * rather than with raw-body: on the request path of every call, raw-body's generality (decoders,
 * a promise race for the timeout) cost more than the whole of this function.
 */
function readRaw(req: IncomingMessage, limits: BodyLimits): Promise<Buffer> {
  const declared = req.headers['content-length'];
  const length = declared === undefined ? undefined : Number(declared);
  if (length !== undefined && length > limits.maxBytes) {
    discardRest(req);
    return Promise.reject(tooLarge(limits.maxBytes));
  }
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    const timer = setTimeout(() => stop(new GatewayError('request_timeout', { message: `The request body was not received within ${limits.timeoutMs} ms.` })), limits.timeoutMs);
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received > limits.maxBytes) {
        stop(tooLarge(limits.maxBytes));
        discardRest(req);
      }
      else chunks.push(chunk);
    };
    const onEnd = () => {
      if (length !== undefined && received !== length) {
        stop(new GatewayError('invalid_json', { message: 'The request body length does not match content-length.', headers: CLOSE }));
        return;
      }
      cleanup();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, received));
    };
    // The client went away (or the socket failed) before the body was complete.
    const onClose = () => stop(new Error('request aborted'));
    function cleanup(): void {
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onClose);
      req.off('close', onClose);
    }
    function stop(err: unknown): void {
      cleanup();
      // What is left of the body is not read: the answer closes the connection (CLOSE), but
      // for a 413, whose caller discards the rest instead.
      req.pause();
      reject(err);
    }
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onClose);
    req.on('close', onClose);
  });
}

/** True when `value` nests deeper than `levels` (recursion is bounded by `levels` itself). */
function deeperThan(value: object, levels: number): boolean {
  if (levels === 0) return true;
  if (Array.isArray(value)) {
    for (const x of value) if (typeof x === 'object' && x !== null && deeperThan(x, levels - 1)) return true;
    return false;
  }
  for (const k in value) {
    const x = (value as Record<string, unknown>)[k];
    if (typeof x === 'object' && x !== null && deeperThan(x, levels - 1)) return true;
  }
  return false;
}

/** A parsed body. */
export interface JsonBody {
  value: Record<string, unknown>;
  /** Already checked against its endpoint's schema (on the offload worker). */
  checked?: boolean;
  /** The prompt hashed for prefix-aware routing, when the offload worker did it. */
  prefix?: PromptPrefix;
}

/** Bodies larger than this are looked at on the offload worker before the event loop parses them. */
const INSPECT_ELSEWHERE_BYTES = 64 * 1024;

export function parseJsonObject(raw: Buffer, opts: { checkDepth?: boolean } = {}): JsonBody & { text: string } {
  let text: string;
  try {
    text = utf8.decode(raw);
  } catch {
    throw new GatewayError('invalid_json', { message: 'The request body is not valid UTF-8.' });
  }
  if (text.trim() === '') throw new GatewayError('invalid_json', { message: 'The request body is empty; send a JSON object.' });
  let value: unknown;
  try {
    value = secureJson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' });
  } catch (err) {
    const forbidden = /prototype|__proto__|constructor/i.test((err as Error).message);
    throw new GatewayError('invalid_json', {
      message: forbidden ? 'The request body contains a forbidden key (__proto__ or constructor.prototype).' : `The request body is not valid JSON: ${(err as Error).message.slice(0, 200)}`,
    });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new GatewayError('invalid_json', { message: 'The request body must be a JSON object.' });
  }
  if (opts.checkDepth !== false) checkDepth(value, text.length);
  return { value: value as Record<string, unknown>, text };
}

/** 400 for a body nested deeper than MAX_DEPTH (a body of `length` characters). */
export function checkDepth(value: object, length: number): void {
  // Each level of nesting takes two characters at least: a short body cannot be too deep.
  if (length > 2 * MAX_DEPTH && deeperThan(value, MAX_DEPTH)) {
    throw new GatewayError('invalid_json', { message: `The request body is nested deeper than ${MAX_DEPTH} levels.` });
  }
}

/**
 * The body, parsed. A large one is first parsed on the offload worker, which refuses what would
 * be costly to parse here (parse-cost.ts) and, given the endpoint, checks it against its schema.
 */
export async function readJsonBody(req: IncomingMessage, limits: BodyLimits, endpoint?: Endpoint): Promise<JsonBody> {
  const raw = await readRaw(req, limits);
  checkContentType(req);
  if (raw.length <= INSPECT_ELSEWHERE_BYTES) return parseJsonObject(raw);
  const seen = await offload.inspect(raw, endpoint);
  if ('problem' in seen) throw new GatewayError(seen.problem.code, { message: seen.problem.message, param: seen.problem.param });
  // The same text the worker decoded and checked (valid UTF-8, no forbidden key, not too deep,
  // not too costly): plain JSON.parse makes the same object of it.
  return { value: JSON.parse(seen.text) as Record<string, unknown>, checked: endpoint !== undefined, ...(seen.prefix && { prefix: seen.prefix }) };
}
