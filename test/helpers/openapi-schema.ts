// Validates values against OpenAI's published component schemas, vendored in
// test/openapi/openai-components.json (see test/openapi/README.md). JSON Schema 2020-12, the
// dialect of OpenAPI 3.1: a `$ref` may have siblings (draft-07 would ignore them). `strict: false`
// lets ajv ignore what it does not know (`discriminator`, `x-*`); formats (`unixtime`, `int64`,
// `uri`…) are not checked, as OpenAPI formats are annotations.
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
    ajv.addSchema({ ...doc, $id: ID });
  }
  return { ajv, doc };
}

/** Where the vendored schemas came from: repository, commit, date, OpenAPI version. */
export function openapiSource(): Record<string, unknown> {
  return load().doc['x-source'];
}

/** The vendored schema itself, as ajv sees it (after the `nullable` conversion). */
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

/** The errors as short lines: `/choices/0/message must have required property 'refusal'`. */
export function formatErrors(errors: readonly ErrorObject[], max = 12): string {
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
