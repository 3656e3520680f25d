import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyBaseLogger, LogController } from 'fastify';
import { installAuth } from './http/auth.ts';
import { schemaCompilers } from './http/compilers.ts';
import type { App } from './http/deps.ts';
import { installErrorHandling, routingError } from './http/error-handler.ts';
import { installOpenApi } from './http/openapi.ts';
import { checkpointRoutes } from './http/routes/checkpoints.ts';
import { metaRoutes } from './http/routes/meta.ts';
import { permissionRoutes } from './http/routes/permissions.ts';
import { projectRoutes } from './http/routes/projects.ts';
import { LIMITS, SHARED_SCHEMAS } from './http/schemas.ts';
import { type Clock, newId, systemClock } from './ids.ts';
import type { Store } from './storage/store.ts';

export type AppOptions = {
  store: Store;
  clock?: Clock;
  /** A pino logger; omitted in tests, where the app logs nothing. */
  logger?: FastifyBaseLogger;
  version?: string;
};

/**
 * The HTTP application, without a port: `main.ts` listens, tests call `app.inject()`.
 * Reads no environment; everything comes in through `options`.
 */
export async function buildApp({ store, clock = systemClock, logger, version = '0.0.0' }: AppOptions): Promise<App> {
  const app = Fastify({
    ...(logger ? { loggerInstance: logger } : { logger: false }),
    bodyLimit: LIMITS.bodyBytes,
    // Checkpoint names reach validation (and its 400) at any length a URL can carry, instead of
    // find-my-way's default 100-character cut-off answering a misleading 404.
    routerOptions: { maxParamLength: 16 * 1024 },
    // Malformed percent-encoding is refused before routing: still the OpenAI envelope, with a request id.
    frameworkErrors: routingError,
    genReqId: newId.request,
    // Validators and serializers are compiled on first use, not all at start-up (compilers.ts).
    schemaController: schemaCompilers(SHARED_SCHEMAS),
    // One access line per request (below) instead of Fastify's two.
    logController: new LogController({ requestIdLogLabel: 'request_id', disableRequestLogging: true }),
  }).withTypeProvider<TypeBoxTypeProvider>();

  for (const schema of SHARED_SCHEMAS) app.addSchema(schema);
  // Callback-style hooks, and the access log only when it is written: each async hook costs every
  // request a promise and a turn of the microtask queue.
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    done();
  });
  if (logger && ['trace', 'debug', 'info'].includes(logger.level)) {
    app.addHook('onResponse', (request, reply, done) => {
      request.log.info(
        {
          method: request.method,
          url: request.url,
          status: reply.statusCode,
          ms: Math.round(reply.elapsedTime * 10) / 10,
        },
        'request',
      );
      done();
    });
  }
  installErrorHandling(app, store);
  installAuth(app, store);
  await installOpenApi(app, version);

  const deps = { store, clock };
  permissionRoutes(app, deps);
  checkpointRoutes(app, deps);
  projectRoutes(app, deps);
  metaRoutes(app, deps);

  await app.ready();
  return app;
}
