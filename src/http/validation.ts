import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { FastifySchemaCompiler } from 'fastify';
import { type ApiError, badRequest } from '../errors.ts';

/**
 * Two validators. Query strings and path params arrive as text, so they are coerced (`limit=10`
 * becomes 10). JSON bodies are not: coercion would quietly turn `"project_ids": "proj_x"` into an
 * array, where OpenAI answers 400. Neither removes unknown body fields: they are rejected.
 *
 * `validateSchema: false`: checking each schema against the JSON Schema meta-schema first compiles
 * the meta-schema itself, which cost more start-up time than everything else Ajv does at start.
 * The schemas are built by TypeBox, and Ajv's strict mode still refuses unknown keywords and bad
 * types when a schema compiles.
 */
export function createValidatorCompiler(
  sharedSchemas: readonly object[],
): (route: Parameters<FastifySchemaCompiler<unknown>>[0]) => ValidateFunction {
  const options = { useDefaults: true, removeAdditional: false, allErrors: false, validateSchema: false } as const;
  const strict = new Ajv({ ...options, coerceTypes: false, schemas: [...sharedSchemas] });
  const coercing = new Ajv({ ...options, coerceTypes: true, schemas: [...sharedSchemas] });
  return ({ schema, httpPart }) => (httpPart === 'body' ? strict : coercing).compile(schema as object);
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
