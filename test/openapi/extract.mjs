#!/usr/bin/env node
// Extracts the component schemas the gateway speaks from OpenAI's published OpenAPI document
// (github.com/openai/openai-openapi) into openai-components.json: the roots below and every
// schema they $ref, transitively, and nothing else. See README.md in this folder.
//
//   node test/openapi/extract.mjs --git <clone of openai/openai-openapi> [--rev HEAD]
//   node test/openapi/extract.mjs --spec <path to openapi.json>
//
// One conversion is made so that ajv (JSON Schema 2020-12, the dialect of OpenAPI 3.1) reads the
// schemas as OpenAI means them: the document says `openapi: 3.1.0` yet still marks many fields
// with the OpenAPI 3.0 keyword `nullable: true`, which JSON Schema ignores. Each becomes an
// explicit null: `type: [T, "null"]` (plus `null` in an `enum`) on a plain typed schema, or
// `anyOf: [<the schema>, {type: "null"}]` around a `$ref`, a composition or an untyped schema.
// Everything else (descriptions, `discriminator`, `x-*` keys) is kept as published; ajv runs with
// `strict: false` and ignores what it does not know.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOTS = [
  'CreateChatCompletionRequest',
  'CreateChatCompletionResponse',
  'CreateChatCompletionStreamResponse',
  'CreateCompletionRequest',
  'CreateCompletionResponse',
  'CreateEmbeddingRequest',
  'CreateEmbeddingResponse',
  'ListModelsResponse',
  'Model',
  'ErrorResponse',
  // The Responses API: POST /responses (request; answer; each streamed event), GET /responses/{id}
  // (Response again), GET /responses/{id}/input_items. DELETE /responses/{id} has no schema in the
  // document (200 "OK", no content; its example is {id, object: "response", deleted: true}).
  'CreateResponse',
  'Response',
  'ResponseStreamEvent',
  'ResponseItemList',
];

const PREFIX = '#/components/schemas/';
/** Keywords whose value is a map from names to schemas. */
const SCHEMA_MAPS = new Set(['properties', 'patternProperties', '$defs', 'definitions', 'dependentSchemas']);
/** Keywords whose value is data, not a schema: never rewritten. */
const DATA = new Set(['example', 'examples', 'default', 'enum', 'const']);
/** What makes a schema more than a plain type: a nullable one is wrapped in anyOf. */
const COMPOSED = ['$ref', 'allOf', 'anyOf', 'oneOf', 'not', 'if'];

function args(argv) {
  const out = { rev: 'HEAD' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--git') out.git = argv[++i];
    else if (a === '--rev') out.rev = argv[++i];
    else if (a === '--spec') out.spec = argv[++i];
    else if (a === '--out') out.out = argv[++i];
    else throw new Error(`unknown argument ${a}`);
  }
  if (!out.git && !out.spec) throw new Error('give --git <clone of openai/openai-openapi> or --spec <openapi.json>');
  return out;
}

/** Every schema name reachable from the roots, in a stable order (roots first, then by name). */
export function closure(schemas, roots = ROOTS) {
  const seen = new Set();
  const visit = (name) => {
    if (seen.has(name)) return;
    if (!(name in schemas)) throw new Error(`missing schema ${name}`);
    seen.add(name);
    refsOf(schemas[name]).forEach(visit);
  };
  roots.forEach(visit);
  const rest = [...seen].filter((n) => !roots.includes(n)).sort();
  return [...roots, ...rest];
}

function refsOf(node, acc = []) {
  if (Array.isArray(node)) node.forEach((x) => refsOf(x, acc));
  else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === '$ref') {
        if (typeof v !== 'string' || !v.startsWith(PREFIX)) throw new Error(`unsupported $ref ${JSON.stringify(v)}`);
        acc.push(v.slice(PREFIX.length));
      } else if (SCHEMA_MAPS.has(k) && v && typeof v === 'object') Object.values(v).forEach((s) => refsOf(s, acc));
      else if (!DATA.has(k) && !k.startsWith('x-')) refsOf(v, acc);
    }
  }
  return acc;
}

/** A schema with OpenAPI 3.0's `nullable` turned into JSON Schema; counts the conversions. */
export function convert(schema, stats = { nullable: 0 }) {
  if (Array.isArray(schema)) return schema.map((s) => convert(s, stats));
  if (!schema || typeof schema !== 'object') return schema;
  const out = {};
  for (const [k, v] of Object.entries(schema)) {
    if (SCHEMA_MAPS.has(k) && v && typeof v === 'object') out[k] = Object.fromEntries(Object.entries(v).map(([name, s]) => [name, convert(s, stats)]));
    else if (DATA.has(k) || k.startsWith('x-')) out[k] = v;
    else out[k] = convert(v, stats);
  }
  if (!('nullable' in out)) return out;
  const nullable = out.nullable === true;
  delete out.nullable;
  if (!nullable) return out;
  stats.nullable++;
  if (typeof out.type === 'string' && !COMPOSED.some((k) => k in out)) {
    out.type = [out.type, 'null'];
    if (Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...out.enum, null];
    return out;
  }
  // Documentation stays on the outside; the schema itself becomes the non-null branch.
  const { description, title, default: dflt, deprecated, ...rest } = out;
  const wrapped = { anyOf: [rest, { type: 'null' }] };
  if (title !== undefined) wrapped.title = title;
  if (description !== undefined) wrapped.description = description;
  if (dflt !== undefined) wrapped.default = dflt;
  if (deprecated !== undefined) wrapped.deprecated = deprecated;
  return wrapped;
}

function main() {
  const o = args(process.argv.slice(2));
  let text;
  let source;
  if (o.git) {
    const commit = execFileSync('git', ['-C', o.git, 'rev-parse', o.rev], { encoding: 'utf8' }).trim();
    const date = execFileSync('git', ['-C', o.git, 'show', '-s', '--format=%cI', commit], { encoding: 'utf8' }).trim();
    text = execFileSync('git', ['-C', o.git, 'show', `${commit}:openapi.json`], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    source = { repository: 'https://github.com/openai/openai-openapi', path: 'openapi.json', commit, date };
  } else {
    text = readFileSync(o.spec, 'utf8');
    source = { path: o.spec };
  }
  const doc = JSON.parse(text);
  if (!/^3\.1\./.test(doc.openapi)) throw new Error(`expected an OpenAPI 3.1 document, got ${doc.openapi}`);
  const all = doc.components.schemas;
  const names = closure(all);
  const stats = { nullable: 0 };
  const schemas = Object.fromEntries(names.map((n) => [n, convert(all[n], stats)]));
  const out = {
    'x-source': { ...source, openapi: doc.openapi, apiVersion: doc.info.version, license: 'MIT, Copyright (c) OpenAI (https://openai.com); see README.md', roots: ROOTS, nullableConverted: stats.nullable },
    components: { schemas },
  };
  const target = o.out ?? join(dirname(fileURLToPath(import.meta.url)), 'openai-components.json');
  writeFileSync(target, `${JSON.stringify(out, null, 2)}\n`);
  console.log(`${names.length} schemas (${ROOTS.length} roots), ${stats.nullable} nullable converted -> ${target}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
