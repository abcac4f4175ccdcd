// Turns a schema failure into the catalog's 400 invalid_parameter, naming the field's path.
import type { z } from 'zod';
import { GatewayError } from '../errors/gateway-error.js';
import { formatPath } from '../config/path.js';

type Issue = z.core.$ZodIssue;

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

export function validateBody<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issue = deepest(result.error.issues[0]!);
  const param = formatPath(issue.path);
  const message = issue.path.length === 0 ? issue.message : `Invalid '${param}': ${issue.message}`;
  throw new GatewayError('invalid_parameter', { param: param || null, message });
}
