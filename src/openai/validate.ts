// Turns a schema failure into the catalog's 400 invalid_parameter, naming the field's path.
import type { z } from 'zod';
import { GatewayError } from '../errors/gateway-error.js';
import { formatPath } from '../config/path.js';

type Issue = z.core.$ZodIssue;

/** What is wrong with a body: the field's path (null for the whole body) and a message. */
export interface BodyProblem {
  param: string | null;
  message: string;
}

/** Union failures nest their branches' issues; the deepest path says most about what is wrong. */
function deepest(issue: Issue): Issue {
  if (issue.code !== 'invalid_union' || issue.errors.length === 0) return issue;
  let best: Issue = issue;
  for (const branch of issue.errors) {
    for (const sub of branch) {
      const d = deepest({ ...sub, path: [...issue.path, ...sub.path] } as Issue);
      if (d.path.length > best.path.length) best = d;
    }
  }
  return best;
}

function problemOf(error: z.ZodError): BodyProblem {
  const issue = deepest(error.issues[0]!);
  // A field the schema does not know is named by its own path, not its parent's.
  if (issue.code === 'unrecognized_keys' && issue.keys.length > 0) {
    const path = [...issue.path, issue.keys[0]!];
    return { param: formatPath(path), message: `Unrecognized field '${formatPath(path)}': this endpoint does not take it.` };
  }
  const param = formatPath(issue.path);
  return { param: param || null, message: issue.path.length === 0 ? issue.message : `Invalid '${param}': ${issue.message}` };
}

/** The first problem the schema finds, or undefined. A plain value: it crosses to a worker. */
export function schemaProblem(schema: z.ZodType, body: unknown): BodyProblem | undefined {
  const result = schema.safeParse(body);
  return result.success ? undefined : problemOf(result.error);
}

export function invalidParameter(problem: BodyProblem): GatewayError {
  return new GatewayError('invalid_parameter', problem);
}

export function validateBody<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  const result = schema.safeParse(body);
  if (!result.success) throw invalidParameter(problemOf(result.error));
  return result.data;
}
