// The whole check of an inference body against its endpoint's OpenAI schema, as a pure function
// of the parsed body: the event loop runs it on small bodies, the offload worker on large ones.
import type { Endpoint } from '../engines/types.js';
import { chatCompletionRequest, completionRequest, embeddingRequest } from './schemas.js';
import { schemaProblem, type BodyProblem } from './validate.js';

const schemas = { chat: chatCompletionRequest, completions: completionRequest, embeddings: embeddingRequest } as const;

export function checkBody(endpoint: Endpoint, body: Record<string, unknown>): BodyProblem | undefined {
  const problem = schemaProblem(schemas[endpoint], body);
  if (problem) return problem;
  if (endpoint !== 'embeddings' && body.stream_options != null && body.stream !== true) {
    return { param: 'stream_options', message: "Invalid 'stream_options': only allowed when 'stream' is true." };
  }
  return undefined;
}
