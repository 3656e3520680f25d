import swagger from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';

/** Route `schema.security` values, named after OpenAI's own security schemes. */
export const ADMIN_KEY = [{ AdminApiKeyAuth: [] }];
export const ANY_KEY = [{ ApiKeyAuth: [] }];
export const NO_KEY: never[] = [];

/** Marks a route that OpenAI's API does not have (CONTRACT §6). */
export const EXTENSION = { 'x-ftshare-extension': true } as const;

/**
 * Collects every route's schema into one OpenAPI 3.1 document as routes are added, so the document
 * is generated from the very schemas that validate requests. Must be registered before the routes.
 */
export async function installOpenApi(app: FastifyInstance, version: string): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'ftshare',
        version,
        description:
          'Self-hostable, OpenAI-compatible sharing of fine-tuned model checkpoints between projects. Operations marked `x-ftshare-extension` are not part of OpenAI’s API.',
      },
      servers: [{ url: '/' }],
      components: {
        securitySchemes: {
          ApiKeyAuth: { type: 'http', scheme: 'bearer' },
          AdminApiKeyAuth: { type: 'http', scheme: 'bearer' },
        },
      },
    },
    // Shared schemas appear under their own names in components.schemas, not as def-0, def-1.
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`),
    },
    transformObject: (documentObject) => {
      if (!('openapiObject' in documentObject)) return documentObject.swaggerObject;
      optionalDefaultedQueryParameters(documentObject.openapiObject as OpenApiPaths);
      return documentObject.openapiObject;
    },
  });
}

type OpenApiPaths = {
  paths?: Record<string, Record<string, { parameters?: { in?: string; required?: boolean; schema?: object }[] }>>;
};

/**
 * Query parameters with a default (`limit`, `order`, `include_archived`) are in the TypeBox
 * object's `required` so handlers see them filled in; on the wire they are optional, and the
 * document must say so, or generated clients would have to send them.
 */
function optionalDefaultedQueryParameters(document: OpenApiPaths): void {
  for (const operations of Object.values(document.paths ?? {})) {
    for (const operation of Object.values(operations)) {
      for (const parameter of operation.parameters ?? []) {
        if (parameter.in === 'query' && parameter.schema && 'default' in parameter.schema) parameter.required = false;
      }
    }
  }
}
