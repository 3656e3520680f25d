import { Type } from '@sinclair/typebox';
import { storeUnavailable } from '../../errors.ts';
import { type App, ERROR_RESPONSES, type RouteDeps } from '../deps.ts';
import { ANY_KEY, EXTENSION, NO_KEY } from '../openapi.ts';

const Status = Type.Object({ status: Type.String() });

/**
 * Health answers as fixed strings: the first `/readyz` is what an orchestrator waits for at start,
 * and a string is sent as it is, without compiling the route's serializer first (compilers.ts).
 */
const OK = JSON.stringify({ status: 'ok' });
const READY = JSON.stringify({ status: 'ready' });
const JSON_TYPE = 'application/json; charset=utf-8';

/** CONTRACT §6: health for orchestrators (no auth, outside /v1) and the served OpenAPI document. */
export function metaRoutes(app: App, { store }: RouteDeps): void {
  app.get(
    '/healthz',
    {
      schema: {
        ...EXTENSION,
        operationId: 'healthz',
        tags: ['Operations'],
        summary: 'The process is up.',
        security: NO_KEY,
        response: { 200: Status },
      },
    },
    async (_request, reply) => reply.type(JSON_TYPE).send(OK as never),
  );

  app.get(
    '/readyz',
    {
      schema: {
        ...EXTENSION,
        operationId: 'readyz',
        tags: ['Operations'],
        summary: 'The store answers: route traffic here. 503 otherwise.',
        security: NO_KEY,
        response: { 200: Status, ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      try {
        await store.ping();
      } catch (error) {
        request.log.warn({ err: error }, 'readiness check failed');
        throw storeUnavailable();
      }
      return reply.type(JSON_TYPE).send(READY as never);
    },
  );

  app.get(
    '/v1/openapi.json',
    {
      config: { auth: 'any' },
      schema: {
        ...EXTENSION,
        operationId: 'getOpenApiDocument',
        tags: ['Operations'],
        summary: 'This OpenAPI 3.1 document, generated from the schemas that validate requests.',
        security: ANY_KEY,
      },
    },
    async () => app.swagger(),
  );
}
