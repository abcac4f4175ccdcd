// Validates values against OpenAI's published component schemas, vendored in
// test/openapi/openai-components.json (see test/openapi/README.md). JSON Schema 2020-12, the
// dialect of OpenAPI 3.1: a `$ref` may have siblings (draft-07 would ignore them). `strict: false`
// lets ajv ignore what it does not know (`x-*`); formats (`unixtime`, `int64`, `uri`…) are not
// checked, as OpenAPI formats are annotations.
//
// `discriminator` is read as OpenAI's SDKs read it, not left to plain `oneOf`: the Responses
// schemas' unions overlap (a user message `{role, content: [input_text…]}` is both an
// EasyInputMessage and an InputMessage, so `oneOf` would reject it), and a failed `oneOf` over 58
// stream events says nothing useful. Before compiling, each `oneOf`/`anyOf` with a
// `discriminator: {propertyName: P}` becomes a dispatch on the value's P: the members whose P
// accepts that value (found through `$ref`, `allOf`, nested unions, `enum`/`const`), any of which
// may match; a value without P goes to the members that do not require it; an unknown P is an
// `enum` error naming the known ones. ajv's own `discriminator: true` cannot do this (it wants
// `oneOf`, a `const`/`enum` tag in every member, and no overlap). The vendored JSON stays as
// published; `openapiSchema` returns it so.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import Ajv2020Module, { type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';

// ajv is CommonJS: under NodeNext its default import is `module.exports`, whose `.default` is the class.
const Ajv2020 = Ajv2020Module.default;

/** The roots vendored from the document (test/openapi/extract.mjs); any schema it holds may be named. */
export type OpenAISchemaName =
  | 'CreateChatCompletionRequest'
  | 'CreateChatCompletionResponse'
  | 'CreateChatCompletionStreamResponse'
  | 'CreateCompletionRequest'
  | 'CreateCompletionResponse'
  | 'CreateEmbeddingRequest'
  | 'CreateEmbeddingResponse'
  | 'ListModelsResponse'
  | 'Model'
  | 'ErrorResponse'
  | 'CreateResponse'
  | 'Response'
  | 'ResponseStreamEvent'
  | 'ResponseItemList'
  | (string & {});

const ID = 'openai-components.json';

/** Found from the source tree (test/helpers) and from the build (dist/test/helpers). */
function componentsFile(): string {
  for (const rel of ['../openapi/openai-components.json', '../../../test/openapi/openai-components.json']) {
    const path = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(path)) return path;
  }
  throw new Error('test/openapi/openai-components.json not found (run test/openapi/extract.mjs)');
}

interface ComponentsDocument {
  'x-source': Record<string, unknown>;
  components: { schemas: Record<string, unknown> };
}

let ajv: InstanceType<typeof Ajv2020> | undefined;
let doc: ComponentsDocument | undefined;
const compiled = new Map<string, ValidateFunction>();

function load(): { ajv: InstanceType<typeof Ajv2020>; doc: ComponentsDocument } {
  if (!ajv || !doc) {
    doc = JSON.parse(readFileSync(componentsFile(), 'utf8')) as ComponentsDocument;
    ajv = new Ajv2020({ allErrors: true, strict: false, validateFormats: false });
    const schemas = withDiscriminators(doc.components.schemas);
    ajv.addSchema({ ...doc, components: { ...doc.components, schemas }, $id: ID });
  }
  return { ajv, doc };
}

// ---------------------------------------------------------------------------------------------
// `discriminator` as a dispatch (see the head of this file).

type Schema = Record<string, unknown>;
/** The tag values a schema lets its discriminating property take; 'any' when it does not say. */
type Tags = Set<unknown> | 'any';

const PREFIX = '#/components/schemas/';
/** Keywords whose value is a map from names to schemas. */
const SCHEMA_MAPS = new Set(['properties', 'patternProperties', '$defs', 'definitions', 'dependentSchemas']);
/** Keywords whose value is data, not a schema: never rewritten. */
const DATA = new Set(['example', 'examples', 'default', 'enum', 'const', 'discriminator', 'required']);

const isSchema = (x: unknown): x is Schema => typeof x === 'object' && x !== null && !Array.isArray(x);

function union(parts: Tags[]): Tags {
  if (parts.length === 0 || parts.includes('any')) return 'any';
  return new Set(parts.flatMap((t) => [...(t as Set<unknown>)]));
}

function intersection(parts: Tags[]): Tags {
  const known = parts.filter((t): t is Set<unknown> => t !== 'any');
  if (known.length === 0) return 'any';
  return known.reduce((a, b) => new Set([...a].filter((x) => b.has(x))));
}

/** Dispatches every discriminated union of `schemas`; the input is not modified. */
function withDiscriminators(schemas: Record<string, unknown>): Record<string, unknown> {
  const resolve = (s: Schema): Schema | undefined => {
    const ref = s.$ref;
    return typeof ref === 'string' && ref.startsWith(PREFIX) ? (schemas[ref.slice(PREFIX.length)] as Schema | undefined) : undefined;
  };

  /** What values a schema for the tag property itself allows. */
  const valueTags = (s: unknown, depth = 0): Tags => {
    if (!isSchema(s) || depth > 20) return 'any';
    const target = resolve(s);
    if (target) return valueTags(target, depth + 1);
    if ('const' in s) return new Set([s.const]);
    if (Array.isArray(s.enum)) return new Set(s.enum);
    if (s.type === 'null') return new Set([null]);
    const alts = (s.anyOf ?? s.oneOf) as unknown;
    if (Array.isArray(alts)) return union(alts.map((a) => valueTags(a, depth + 1)));
    if (Array.isArray(s.allOf)) return intersection(s.allOf.map((a) => valueTags(a, depth + 1)));
    return 'any';
  };

  /** What tag values an object schema (a union's member) allows for `prop`. */
  const memberTags = (s: unknown, prop: string, depth = 0): Tags => {
    if (!isSchema(s) || depth > 20) return 'any';
    const parts: Tags[] = [];
    const props = s.properties;
    if (isSchema(props) && prop in props) parts.push(valueTags(props[prop]));
    const target = resolve(s);
    if (target) parts.push(memberTags(target, prop, depth + 1));
    if (Array.isArray(s.allOf)) parts.push(...s.allOf.map((a) => memberTags(a, prop, depth + 1)));
    const alts = (s.anyOf ?? s.oneOf) as unknown;
    if (Array.isArray(alts)) parts.push(union(alts.map((a) => memberTags(a, prop, depth + 1))));
    return intersection(parts);
  };

  /** Whether a member requires `prop`: a value without it cannot match. */
  const requires = (s: unknown, prop: string, depth = 0): boolean => {
    if (!isSchema(s) || depth > 20) return false;
    if (Array.isArray(s.required) && s.required.includes(prop)) return true;
    const target = resolve(s);
    if (target && requires(target, prop, depth + 1)) return true;
    if (Array.isArray(s.allOf) && s.allOf.some((a) => requires(a, prop, depth + 1))) return true;
    const alts = (s.anyOf ?? s.oneOf) as unknown;
    return Array.isArray(alts) && alts.length > 0 && alts.every((a) => requires(a, prop, depth + 1));
  };

  const pick = (members: unknown[], indices: number[]): unknown => (indices.length === 1 ? members[indices[0]!] : { anyOf: indices.map((i) => members[i]) });

  const dispatch = (node: Schema): Schema => {
    const d = node.discriminator;
    const key = Array.isArray(node.oneOf) ? 'oneOf' : Array.isArray(node.anyOf) ? 'anyOf' : undefined;
    if (!isSchema(d) || typeof d.propertyName !== 'string' || !key) return node;
    const prop = d.propertyName;
    const members = node[key] as unknown[];
    const byTag = new Map<unknown, number[]>();
    const wild: number[] = [];
    const untagged: number[] = [];
    members.forEach((m, i) => {
      const tags = memberTags(m, prop);
      if (tags === 'any') wild.push(i);
      else for (const t of tags) byTag.set(t, [...(byTag.get(t) ?? []), i]);
      if (!requires(m, prop)) untagged.push(i);
    });
    const known = [...byTag.keys()];
    const branches: Schema[] = [
      { if: { not: { required: [prop] } }, then: untagged.length > 0 ? pick(members, untagged) : { required: [prop] } },
      ...known.map((tag) => ({ if: { required: [prop], properties: { [prop]: { const: tag } } }, then: pick(members, [...byTag.get(tag)!, ...wild].sort((a, b) => a - b)) })),
      { if: { required: [prop], properties: { [prop]: { not: { enum: known } } } }, then: wild.length > 0 ? pick(members, wild) : { properties: { [prop]: { enum: known } } } },
    ];
    const { [key]: _union, ...rest } = node;
    const allOf = Array.isArray(rest.allOf) ? rest.allOf : [];
    return { ...rest, allOf: [...allOf, ...branches] };
  };

  const walk = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(walk);
    if (!isSchema(node)) return node;
    const out: Schema = {};
    for (const [k, v] of Object.entries(node)) {
      if (SCHEMA_MAPS.has(k) && isSchema(v)) out[k] = Object.fromEntries(Object.entries(v).map(([name, s]) => [name, walk(s)]));
      else if (DATA.has(k) || k.startsWith('x-')) out[k] = v;
      else out[k] = walk(v);
    }
    return dispatch(out);
  };

  return Object.fromEntries(Object.entries(schemas).map(([name, s]) => [name, walk(s)]));
}

/** Where the vendored schemas came from: repository, commit, date, OpenAPI version. */
export function openapiSource(): Record<string, unknown> {
  return load().doc['x-source'];
}

/** The vendored schema itself, as published (after the `nullable` conversion); ajv compiles it
 *  with each `discriminator` made a dispatch. */
export function openapiSchema(name: OpenAISchemaName): unknown {
  const schema = load().doc.components.schemas[name];
  if (schema === undefined) throw new Error(`no schema ${name} in the vendored components`);
  return schema;
}

function validator(name: OpenAISchemaName): ValidateFunction {
  let v = compiled.get(name);
  if (!v) {
    const { ajv } = load();
    openapiSchema(name); // a clear error for an unknown name
    v = ajv.getSchema(`${ID}#/components/schemas/${name}`);
    if (!v) throw new Error(`ajv could not compile ${name}`);
    compiled.set(name, v);
  }
  return v;
}

/** Every way `value` breaks the named schema; an empty array when it is valid. */
export function validateAgainst(name: OpenAISchemaName, value: unknown): ErrorObject[] {
  const v = validator(name);
  return v(value) ? [] : [...(v.errors ?? [])];
}

/** The errors as short lines: `/choices/0/message must have required property 'refusal'`. The
 *  dispatch's own `must match "then" schema` lines are left out when they come with the errors
 *  that explain them. */
export function formatErrors(errors: readonly ErrorObject[], max = 12): string {
  const explained = errors.filter((e) => e.keyword !== 'if');
  if (explained.length > 0) errors = explained;
  const lines = errors.slice(0, max).map((e) => `${e.instancePath || '/'} ${e.message ?? e.keyword} (${e.schemaPath}${e.params && Object.keys(e.params).length ? ` ${JSON.stringify(e.params)}` : ''})`);
  if (errors.length > max) lines.push(`… and ${errors.length - max} more`);
  return lines.join('\n');
}

/** Throws an AssertionError-style Error naming every violation, with a piece of the value. */
export function assertValid(name: OpenAISchemaName, value: unknown, what = name): void {
  const errors = validateAgainst(name, value);
  if (errors.length === 0) return;
  const shown = JSON.stringify(value);
  throw new Error(`${what} does not match OpenAI's ${name}:\n${formatErrors(errors)}\nvalue: ${shown === undefined ? 'undefined' : shown.slice(0, 800)}`);
}

// ---------------------------------------------------------------------------------------------
// The Responses API's streamed events.

let eventMembers: Map<string, string> | undefined;

/** Each streamed event's `type` and the member of `ResponseStreamEvent` that describes it:
 *  `response.output_text.delta` -> `ResponseTextDeltaEvent`, `error` -> `ResponseErrorEvent`… */
export function responseEventSchemas(): ReadonlyMap<string, string> {
  if (!eventMembers) {
    const union = openapiSchema('ResponseStreamEvent') as { anyOf?: { $ref?: string }[]; oneOf?: { $ref?: string }[] };
    eventMembers = new Map();
    for (const m of union.anyOf ?? union.oneOf ?? []) {
      const name = m.$ref?.startsWith('#/components/schemas/') ? m.$ref.slice('#/components/schemas/'.length) : undefined;
      if (!name) throw new Error(`ResponseStreamEvent: a member that is not a $ref: ${JSON.stringify(m)}`);
      const tags = ((openapiSchema(name) as { properties?: { type?: { enum?: unknown[]; const?: unknown } } }).properties?.type);
      for (const t of tags?.enum ?? ('const' in (tags ?? {}) ? [tags!.const] : [])) {
        if (typeof t === 'string') eventMembers.set(t, name);
      }
    }
  }
  return eventMembers;
}

/** Every way one streamed Responses event (the parsed `data:` of an SSE message) breaks OpenAI's
 *  schema, checked against the member its `type` names (`response.completed` ->
 *  `ResponseCompletedEvent`…) so the errors speak of that event alone; an unknown `type` is one
 *  error naming the known ones. Empty when it is valid. */
export function validateResponseEvent(event: unknown): ErrorObject[] {
  const type = isSchema(event) ? event.type : undefined;
  if (typeof type !== 'string') return validateAgainst('ResponseStreamEvent', event);
  const member = responseEventSchemas().get(type);
  if (member) return validateAgainst(member, event);
  const allowedValues = [...responseEventSchemas().keys()];
  return [{ instancePath: '/type', schemaPath: `${ID}#/components/schemas/ResponseStreamEvent`, keyword: 'enum', params: { allowedValues }, message: `must be the type of a ResponseStreamEvent member, not ${JSON.stringify(type)}` }];
}

/** Throws, as assertValid does, when one streamed Responses event breaks OpenAI's schema. */
export function assertValidResponseEvent(event: unknown, what = 'event'): void {
  const errors = validateResponseEvent(event);
  if (errors.length === 0) return;
  const type = isSchema(event) && typeof event.type === 'string' ? event.type : '?';
  const shown = JSON.stringify(event);
  throw new Error(`${what} (${type}) does not match OpenAI's ${responseEventSchemas().get(type) ?? 'ResponseStreamEvent'}:\n${formatErrors(errors)}\nvalue: ${shown === undefined ? 'undefined' : shown.slice(0, 800)}`);
}
