import { Ajv, type ErrorObject } from 'ajv';
import type { FastifySchemaCompiler } from 'fastify';
import { type ApiError, badRequest } from '../errors.ts';
import { isPlainInteger } from './query.ts';

/**
 * Two validators. Query strings and path params arrive as text, so they are coerced (`limit=10`
 * becomes 10). JSON bodies are not: coercion would quietly turn `"project_ids": "proj_x"` into an
 * array, where OpenAI answers 400. Neither removes unknown body fields: they are rejected.
 *
 * Before either, two rules ajv does not know: no text anywhere in params, query or body may hold
 * a NUL or an unpaired surrogate (PostgreSQL refuses both, and neither belongs in an id or a
 * name), and an integer in a query string is written in plain decimal digits (`isPlainInteger`:
 * ajv would take `1e309` as Infinity, `0x10` as 16, ` 5` as 5).
 */
export function createValidatorCompiler(sharedSchemas: readonly object[]): FastifySchemaCompiler<unknown> {
  // validateSchema: false — checking each schema against the JSON Schema meta-schema first compiles
  // the meta-schema itself, which cost more start-up time than everything else Ajv does. TypeBox
  // builds the schemas, and Ajv's strict mode still refuses unknown keywords when one compiles.
  const options = {
    useDefaults: true,
    removeAdditional: false,
    allErrors: false,
    strictNumbers: true,
    validateSchema: false,
  } as const;
  const strict = new Ajv({ ...options, coerceTypes: false, schemas: [...sharedSchemas] });
  // 'array': a single `event_types[]=x` arrives as a string and is read as a list of one.
  const coercing = new Ajv({ ...options, coerceTypes: 'array', schemas: [...sharedSchemas] });
  return ({ schema, httpPart }) => {
    const validate = (httpPart === 'body' ? strict : coercing).compile(schema as object);
    const integers = httpPart === 'querystring' ? integerProperties(schema) : [];
    return (data: unknown) => {
      const refused = refuseText(data) ?? refuseIntegerSyntax(data, integers);
      if (refused) return { error: refused };
      if (validate(data)) return true;
      return { error: validationError(validate.errors ?? [], httpPart) };
    };
  };
}

/** Text that may not reach the domain or the store: NUL, and UTF-16 surrogates that are not a pair. */
const FORBIDDEN_TEXT = /[\0\p{Cs}]/u;

/**
 * The first string (or object key) of `data` holding forbidden text, as a 400 naming the top-level
 * field it sits under. Breadth first and without recursion: a body may nest arrays a million deep.
 */
function refuseText(data: unknown): ApiError | undefined {
  const queue: [unknown, string | null][] = [[data, null]];
  for (let i = 0; i < queue.length; i++) {
    const [value, field] = queue[i] as [unknown, string | null];
    if (typeof value === 'string') {
      if (FORBIDDEN_TEXT.test(value)) return forbiddenText(field);
    } else if (Array.isArray(value)) {
      for (const item of value) queue.push([item, field]);
    } else if (typeof value === 'object' && value !== null) {
      for (const [key, item] of Object.entries(value)) {
        if (FORBIDDEN_TEXT.test(key)) return forbiddenText(field);
        queue.push([item, i === 0 ? key : field]);
      }
    }
  }
  return undefined;
}

const forbiddenText = (field: string | null) =>
  badRequest(
    field === null
      ? 'The request may not contain a NUL character or an unpaired UTF-16 surrogate.'
      : `Invalid value for '${field}': it may not contain a NUL character or an unpaired UTF-16 surrogate.`,
    field,
  );

function integerProperties(schema: unknown): { name: string; minimum?: number; maximum?: number }[] {
  const properties = (schema as { properties?: Record<string, { type?: unknown; minimum?: number; maximum?: number }> })
    .properties;
  return Object.entries(properties ?? {})
    .filter(([, property]) => property.type === 'integer')
    .map(([name, { minimum, maximum }]) => ({
      name,
      ...(minimum === undefined ? {} : { minimum }),
      ...(maximum === undefined ? {} : { maximum }),
    }));
}

function refuseIntegerSyntax(data: unknown, integers: ReturnType<typeof integerProperties>): ApiError | undefined {
  if (integers.length === 0 || typeof data !== 'object' || data === null) return undefined;
  for (const { name, minimum, maximum } of integers) {
    const value = (data as Record<string, unknown>)[name];
    // With array coercion a list of one would be read as its item: check the items too.
    const texts = Array.isArray(value) ? value : [value];
    if (texts.some((text) => typeof text === 'string' && !isPlainInteger(text))) {
      const range = minimum !== undefined && maximum !== undefined ? ` from ${minimum} to ${maximum}` : '';
      return badRequest(`Invalid value for '${name}': must be an integer${range} (plain decimal digits).`, name);
    }
  }
  return undefined;
}

/** The first validation failure as OpenAI's 400, naming the field at fault in `param`. */
export function validationError(errors: ErrorObject[], context: string | undefined): ApiError {
  const first = errors[0];
  if (!first) return badRequest('The request is invalid.', null);
  const path = first.instancePath.split('/').filter(Boolean);
  const field = path[0];

  if (first.keyword === 'additionalProperties') {
    const name = String(first.params.additionalProperty);
    return badRequest(`Unrecognized request argument supplied: ${name}`, name, 'unknown_parameter');
  }
  if (first.keyword === 'required') {
    const name = String(first.params.missingProperty);
    return badRequest(`Missing required parameter: '${name}'.`, name, 'missing_required_parameter');
  }
  if (context === 'body' && field === undefined) {
    return badRequest('The request body must be a JSON object.', null);
  }
  const where = path.map((part, i) => (i > 0 && /^\d+$/.test(part) ? `[${part}]` : i > 0 ? `.${part}` : part)).join('');
  const allowed = first.keyword === 'enum' ? ` (one of: ${(first.params.allowedValues as unknown[]).join(', ')})` : '';
  return badRequest(`Invalid value for '${where}': ${first.message ?? 'invalid'}${allowed}.`, field ?? null);
}
