// A deterministic value that validates against a JSON Schema: what a constrained-decoding engine
// (vLLM's guided JSON, OpenAI's strict mode) would emit for tool-call arguments and json_schema
// answers. It covers the schemas client libraries send (zod/pydantic output included: $ref into
// $defs, anyOf with null, allOf), not all of JSON Schema: `pattern` and the like are not honoured.
import { intBetween } from './rng.js';
import { WORDS } from './vocabulary.js';

type Schema = Record<string, unknown>;
type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Past this depth optional properties and extra array items stop: recursive schemas end. */
const SHALLOW = 4;
/** Past this depth a schema that still insists on nesting gets null. */
const MAX_DEPTH = 16;
/**
 * Values and string characters one answer may hold: the in-process engine runs on the gateway's
 * event loop, and a schema (minItems: 1e9, minLength: 1e9, a tree whose every node requires two
 * children) must not stall it. Past these the answer is smaller than the schema asks.
 */
const MAX_VALUES = 2000;
const MAX_CHARS = 32_768;

const isSchema = (x: unknown): x is Schema => typeof x === 'object' && x !== null && !Array.isArray(x);
const num = (x: unknown): number | undefined => (typeof x === 'number' && Number.isFinite(x) ? x : undefined);

export function valueFromSchema(schema: unknown, rand: () => number): Json {
  return new Generator(isSchema(schema) ? schema : {}, rand).value(schema, 0);
}

/** A small free-form object, for response_format json_object: a few words as keys and values. */
export function freeformObject(rand: () => number): { [key: string]: Json } {
  const out: { [key: string]: Json } = {};
  const keys = intBetween(rand, 2, 4);
  for (let i = 0; i < keys; i++) {
    const key = word(rand);
    const kind = intBetween(rand, 0, 3);
    out[key] = kind === 0 ? words(rand, 1, 4) : kind === 1 ? intBetween(rand, 0, 1000) : kind === 2 ? rand() < 0.5 : [word(rand), word(rand)];
  }
  return out;
}

function word(rand: () => number): string {
  return WORDS[intBetween(rand, 0, WORDS.length - 1)]!;
}

function words(rand: () => number, min: number, max: number): string {
  const n = intBetween(rand, min, max);
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(word(rand));
  return out.join(' ');
}

class Generator {
  private left = MAX_VALUES;
  private chars = MAX_CHARS;

  constructor(private readonly root: Schema, private readonly rand: () => number) {}

  value(schema: unknown, depth: number): Json {
    if (depth > MAX_DEPTH || --this.left < 0) return null;
    if (schema === true || !isSchema(schema)) return words(this.rand, 1, 3);
    const s = this.resolve(schema);
    if ('const' in s) return s.const as Json;
    if (Array.isArray(s.enum) && s.enum.length > 0) return s.enum[intBetween(this.rand, 0, s.enum.length - 1)] as Json;
    // The first alternative, as the brief for the simulator says: deterministic and always valid
    // for anyOf; for oneOf valid unless a later alternative also matches, which schemas avoid.
    const alt = (Array.isArray(s.anyOf) && s.anyOf[0]) || (Array.isArray(s.oneOf) && s.oneOf[0]);
    if (alt !== false && alt !== undefined) return this.value(this.mergeSiblings(s, alt), depth + 1);
    if (Array.isArray(s.allOf)) return this.value(this.mergeAll(s), depth + 1);
    switch (typeOf(s)) {
      case 'object': return this.object(s, depth);
      case 'array': return this.array(s, depth);
      case 'string': return this.string(s);
      case 'integer': return this.number(s, true);
      case 'number': return this.number(s, false);
      case 'boolean': return this.rand() < 0.5;
      case 'null': return null;
      default: return words(this.rand, 1, 3);
    }
  }

  /** Local `$ref`s (#/$defs/x, #/definitions/x, #): anything else is treated as unconstrained. */
  private resolve(s: Schema, seen = 0): Schema {
    if (typeof s.$ref !== 'string' || seen > 32) return s;
    const ref = s.$ref;
    if (!ref.startsWith('#')) return {};
    let at: unknown = this.root;
    for (const raw of ref.slice(1).split('/').filter(Boolean)) {
      const key = decodeURIComponent(raw).replaceAll('~1', '/').replaceAll('~0', '~');
      at = isSchema(at) ? at[key] : undefined;
    }
    if (!isSchema(at)) return {};
    const { $ref: _, ...rest } = s;
    return this.resolve({ ...at, ...rest }, seen + 1);
  }

  /** `{type: 'object', anyOf: [...]}`: the chosen alternative keeps its siblings' constraints. */
  private mergeSiblings(s: Schema, alt: unknown): Schema {
    const { anyOf: _a, oneOf: _o, ...rest } = s;
    return isSchema(alt) ? mergeTwo(rest, this.resolve(alt)) : rest;
  }

  private mergeAll(s: Schema): Schema {
    const { allOf, ...rest } = s;
    let out: Schema = rest;
    for (const part of allOf as unknown[]) if (isSchema(part)) out = mergeTwo(out, this.resolve(part));
    return out;
  }

  private object(s: Schema, depth: number): Json {
    const props = isSchema(s.properties) ? s.properties : {};
    const required = new Set(Array.isArray(s.required) ? s.required.filter((k): k is string => typeof k === 'string') : []);
    const out: { [key: string]: Json } = {};
    for (const [key, sub] of Object.entries(props)) {
      // Some optional properties too, as a model would fill them, but not deep down.
      if (required.has(key) || (depth < SHALLOW && this.rand() < 0.5)) out[key] = this.value(sub, depth + 1);
    }
    // A required name without a property schema still needs a value.
    for (const key of required) if (!(key in out)) out[key] = words(this.rand, 1, 2);
    return out;
  }

  private array(s: Schema, depth: number): Json {
    const min = Math.max(0, num(s.minItems) ?? 0);
    const max = num(s.maxItems) ?? Infinity;
    const want = depth < SHALLOW ? intBetween(this.rand, 1, 3) : 0;
    const count = Math.min(max, Math.max(min, want));
    const prefix = Array.isArray(s.prefixItems) ? (s.prefixItems as unknown[]) : [];
    const out: Json[] = [];
    const seen = new Set<string>();
    // uniqueItems: a few tries for a value not yet in the array (enums can run out).
    for (let i = 0, tries = 0; out.length < count && tries < count * 4 && this.left > 0; tries++) {
      const v = this.value(i < prefix.length ? prefix[i] : s.items, depth + 1);
      const key = JSON.stringify(v);
      if (s.uniqueItems === true && seen.has(key)) continue;
      seen.add(key);
      out.push(v);
      i++;
    }
    return out;
  }

  private string(s: Schema): string {
    let v = formatted(s.format, this.rand) ?? words(this.rand, 1, 4);
    const min = Math.min(num(s.minLength) ?? 0, this.chars);
    const max = num(s.maxLength) ?? Infinity;
    while (v.length < min) v += ` ${word(this.rand)}`;
    this.chars -= v.length;
    if (v.length > max) v = v.slice(0, max);
    // maxLength counts code points; a cut through a surrogate pair would not be valid text.
    return v.length > 0 && /[\ud800-\udbff]$/.test(v) ? v.slice(0, -1) : v;
  }

  private number(s: Schema, integer: boolean): number {
    const exMin = num(s.exclusiveMinimum);
    const exMax = num(s.exclusiveMaximum);
    const step = num(s.multipleOf) ?? (integer ? 1 : undefined);
    let lo = num(s.minimum) ?? (exMin !== undefined ? exMin + (step ?? 0.01) : undefined);
    let hi = num(s.maximum) ?? (exMax !== undefined ? exMax - (step ?? 0.01) : undefined);
    if (lo === undefined) lo = hi !== undefined ? Math.min(0, hi - 100) : 0;
    if (hi === undefined) hi = lo + 100;
    if (step !== undefined && step > 0) {
      const first = Math.ceil(lo / step);
      const last = Math.floor(hi / step);
      const k = last >= first ? intBetween(this.rand, first, last) : first;
      return Number((k * step).toPrecision(12));
    }
    const v = Math.round((lo + this.rand() * (hi - lo)) * 100) / 100;
    return Math.min(hi, Math.max(lo, v));
  }
}

/** The type to generate: the first non-null one of a list; inferred from keywords when absent. */
function typeOf(s: Schema): string | undefined {
  const t = Array.isArray(s.type) ? (s.type.find((x) => x !== 'null') ?? s.type[0]) : s.type;
  if (typeof t === 'string') return t;
  if (isSchema(s.properties) || Array.isArray(s.required)) return 'object';
  if (s.items !== undefined || Array.isArray(s.prefixItems)) return 'array';
  return undefined;
}

function mergeTwo(a: Schema, b: Schema): Schema {
  const out: Schema = { ...a, ...b };
  if (isSchema(a.properties) && isSchema(b.properties)) out.properties = { ...a.properties, ...b.properties };
  if (Array.isArray(a.required) && Array.isArray(b.required)) out.required = [...new Set([...a.required, ...b.required])];
  return out;
}

/** `format` loosely: values that pass the common format checkers. */
function formatted(format: unknown, rand: () => number): string | undefined {
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  const date = () => `${intBetween(rand, 2000, 2030)}-${pad(intBetween(rand, 1, 12))}-${pad(intBetween(rand, 1, 28))}`;
  const time = () => `${pad(intBetween(rand, 0, 23))}:${pad(intBetween(rand, 0, 59))}:${pad(intBetween(rand, 0, 59))}Z`;
  const hex = (n: number) => Array.from({ length: n }, () => intBetween(rand, 0, 15).toString(16)).join('');
  switch (format) {
    case 'date-time': return `${date()}T${time()}`;
    case 'date': return date();
    case 'time': return time();
    case 'email': return `${word(rand)}@example.com`;
    case 'hostname': return `${word(rand)}.example.com`;
    case 'uri': case 'url': case 'iri': return `https://example.com/${word(rand)}`;
    case 'uuid': return `${hex(8)}-${hex(4)}-4${hex(3)}-${'89ab'[intBetween(rand, 0, 3)]}${hex(3)}-${hex(12)}`;
    case 'ipv4': return `192.0.2.${intBetween(rand, 1, 254)}`;
    case 'ipv6': return `2001:db8::${hex(4)}`;
    case 'duration': return `PT${intBetween(rand, 1, 59)}M`;
    default: return undefined;
  }
}
