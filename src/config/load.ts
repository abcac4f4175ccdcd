// Reads, interpolates and validates a config file. Errors name the path of the bad field.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { configSchema, type SluiceConfig } from './schema.js';
import { defaultConfigDocument } from './defaults.js';
import { formatPath } from './path.js';

export class ConfigError extends Error {
  constructor(readonly problems: string[], readonly file: string) {
    super(`invalid config ${file}:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

const ENV_REF = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/**
 * Replaces ${VAR} and ${VAR:-default} in string values (never in keys, and after YAML parsing, so a
 * variable's content cannot change the document's structure).
 */
export function interpolateEnv(value: unknown, env: NodeJS.ProcessEnv, path: PropertyKey[] = [], problems: string[] = []): unknown {
  if (typeof value === 'string') {
    return value.replace(ENV_REF, (_m, name: string, fallback: string | undefined) => {
      const v = env[name];
      if (v !== undefined && v !== '') return v;
      if (fallback !== undefined) return fallback;
      problems.push(`${formatPath(path) || '(root)'}: environment variable ${name} is not set`);
      return '';
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolateEnv(v, env, [...path, i], problems));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = interpolateEnv(v, env, [...path, k], problems);
    return out;
  }
  return value;
}

/** A plain-string field that came out of ${VAR} as a number-looking string is coerced by YAML rules. */
function coerceScalars(value: unknown): unknown {
  if (typeof value === 'string' && /^-?\d+(\.\d+)?$/.test(value)) return Number(value);
  if (value === 'true') return true;
  if (value === 'false') return false;
  return value;
}

function reviveInterpolated(raw: unknown, interpolated: unknown): unknown {
  // Only values that contained a ${…} reference are coerced; literal strings stay strings.
  if (typeof raw === 'string') return raw.includes('${') && raw.match(ENV_REF)?.[0] === raw ? coerceScalars(interpolated) : interpolated;
  if (Array.isArray(raw) && Array.isArray(interpolated)) return raw.map((r, i) => reviveInterpolated(r, interpolated[i]));
  if (raw !== null && typeof raw === 'object' && interpolated !== null && typeof interpolated === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(raw)) out[k] = reviveInterpolated((raw as Record<string, unknown>)[k], (interpolated as Record<string, unknown>)[k]);
    return out;
  }
  return interpolated;
}

export function parseConfigDocument(doc: unknown, file: string, env: NodeJS.ProcessEnv = process.env): SluiceConfig {
  const problems: string[] = [];
  const interpolated = reviveInterpolated(doc, interpolateEnv(doc ?? {}, env, [], problems));
  if (problems.length) throw new ConfigError(problems, file);
  const result = configSchema.safeParse(interpolated);
  if (!result.success) {
    throw new ConfigError(result.error.issues.map((i) => `${formatPath(i.path) || '(root)'}: ${i.message}`), file);
  }
  return result.data;
}

export function loadConfig(file: string | undefined, env: NodeJS.ProcessEnv = process.env): SluiceConfig {
  if (file === undefined) return parseConfigDocument(defaultConfigDocument, '(embedded default)', env);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError([`cannot read file: ${(err as Error).message}`], file);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text, { prettyErrors: true });
  } catch (err) {
    throw new ConfigError([(err as Error).message.split('\n')[0] ?? 'YAML syntax error'], file);
  }
  return parseConfigDocument(doc, file, env);
}
