// The requests every target receives, byte for byte the same, and the checks that a response is a
// real answer: a gateway that answers fast with errors must not produce a nice number.

export const MODEL = 'bench-model';
/** Content chunks in every stream (the "streaming (20 chunks)"). */
export const STREAM_CHUNKS = 20;
/**
 * Request field that makes the fake engine spread a stream over this many milliseconds. A body
 * field, not a header: the gateway forwards unknown body fields to the engine but not headers.
 */
export const SLOW_FIELD = 'bench_stream_ms';
export const CHAT_PATH = '/v1/chat/completions';
/** Fake-engine control route (called on the engine itself): finish every slow stream now. */
export const RELEASE_PATH = '/bench/release';
/** A slow stream's natural length; the memory test releases them long before. */
export const SLOW_STREAM_MS = 30_000;

const messages = [{ role: 'user', content: 'hello' }];

export const JSON_BODY = JSON.stringify({ model: MODEL, messages, max_tokens: 16 });
// include_usage is set by the client so that direct, proxy and gateway all carry the same events:
// the gateway always asks the engine for usage and drops that event when the client did not ask.
export const STREAM_BODY = JSON.stringify({ model: MODEL, messages, max_tokens: 16, stream: true, stream_options: { include_usage: true } });

export function slowStreamBody(ms: number): string {
  return JSON.stringify({ model: MODEL, messages, max_tokens: 16, stream: true, stream_options: { include_usage: true }, [SLOW_FIELD]: ms });
}

/** Headers sent to every target; only the gateway looks at the key, the others ignore it. */
export function requestHeaders(apiKey: string): Record<string, string> {
  return { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` };
}

export function isJsonAnswer(body: string): boolean {
  return body.startsWith('{') && body.includes('"choices":[{') && !body.includes('"error"');
}

const DONE = 'data: [DONE]\n\n';

/** 20 content events, the usage event, then [DONE], and no error event in between. */
export function isCompleteStream(body: string): boolean {
  if (!body.endsWith(DONE) || body.includes('"error"')) return false;
  let events = 0;
  for (let i = body.indexOf('data: '); i !== -1; i = body.indexOf('data: ', i + 6)) events++;
  return events === STREAM_CHUNKS + 2;
}

export const RESPONSES_PATH = '/v1/responses';
/** The Responses API's form of JSON_BODY and STREAM_BODY (the gateway translates it to chat). */
export const RESPONSES_BODY = JSON.stringify({ model: MODEL, input: 'hello', max_output_tokens: 16, store: false });
export const RESPONSES_STREAM_BODY = JSON.stringify({ model: MODEL, input: 'hello', max_output_tokens: 16, store: false, stream: true });

/** A Response object with its text (the fake engine stops at its length: status incomplete). */
export function isResponsesAnswer(body: string): boolean {
  return body.startsWith('{') && body.includes('"object":"response"') && body.includes('"output_text"') && !body.includes('"error":{');
}

/** A Responses event stream: the 20 text deltas, then response.completed or .incomplete, no error event. */
export function isCompleteResponsesStream(body: string): boolean {
  if (body.includes('event: error') || !/event: response\.(completed|incomplete)\ndata: [^\n]*\n\n$/.test(body)) return false;
  let deltas = 0;
  for (let i = body.indexOf('event: response.output_text.delta'); i !== -1; i = body.indexOf('event: response.output_text.delta', i + 10)) deltas++;
  return deltas === STREAM_CHUNKS;
}
