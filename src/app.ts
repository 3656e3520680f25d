import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyBaseLogger, LogController } from 'fastify';
import { installAuth } from './http/auth.ts';
import { installBodyParsing } from './http/body.ts';
import { createClientErrorHandler, installServerGuards } from './http/client-errors.ts';
import type { App } from './http/deps.ts';
import { installErrorHandling, routingError } from './http/error-handler.ts';
import { installOpenApi } from './http/openapi.ts';
import { parseQueryString } from './http/query.ts';
import { authFailureLimiter, installKeyRateLimit } from './http/rate-limit.ts';
import { installRequestGuards } from './http/request-guards.ts';
import { checkpointRoutes } from './http/routes/checkpoints.ts';
import { metaRoutes } from './http/routes/meta.ts';
import { permissionRoutes } from './http/routes/permissions.ts';
import { projectRoutes } from './http/routes/projects.ts';
import { LIMITS, SHARED_SCHEMAS } from './http/schemas.ts';
import { type EdgeLimits, serverOptions } from './http/server-options.ts';
import { createValidatorCompiler } from './http/validation.ts';
import { type Clock, newId, systemClock } from './ids.ts';
import { redactSecrets } from './redact.ts';
import type { Store } from './storage/store.ts';

export type AppOptions = {
  store: Store;
  clock?: Clock;
  /** A pino logger; omitted in tests, where the app logs nothing. */
  logger?: FastifyBaseLogger;
  version?: string;
  /**
   * Timeouts, the connection cap, proxy trust and rate limits (the Config has them all). Omitted,
   * the app has Node's and Fastify's defaults and no rate limits: what tests in-process want.
   */
  limits?: Partial<EdgeLimits>;
};

/**
 * The HTTP application, without a port: `main.ts` listens, tests call `app.inject()`.
 * Reads no environment; everything comes in through `options`.
 */
export async function buildApp({
  store,
  clock = systemClock,
  logger,
  version = '0.0.0',
  limits = {},
}: AppOptions): Promise<App> {
  const app = Fastify({
    ...serverOptions(limits),
    ...(logger ? { loggerInstance: logger } : { logger: false }),
    bodyLimit: LIMITS.bodyBytes,
    routerOptions: {
      // Checkpoint names reach validation (and its 400) at any length the URL limit allows, instead
      // of find-my-way's default 100-character cut-off answering a misleading 404.
      maxParamLength: LIMITS.urlBytes,
      querystringParser: parseQueryString,
    },
    // Malformed percent-encoding is refused before routing: still the OpenAI envelope, with a request id.
    frameworkErrors: routingError,
    // What Node's HTTP parser refuses, and clients past the timeouts: the envelope, then close.
    clientErrorHandler: createClientErrorHandler({
      headersMs: limits.headersTimeoutMs,
      requestMs: limits.requestTimeoutMs,
    }),
    genReqId: newId.request,
    // One access line per request (below) instead of Fastify's two.
    logController: new LogController({ requestIdLogLabel: 'request_id', disableRequestLogging: true }),
  }).withTypeProvider<TypeBoxTypeProvider>();
  installServerGuards(app.server, app.log);
  if (limits.maxConnections) app.server.maxConnections = limits.maxConnections;

  app.setValidatorCompiler(createValidatorCompiler(SHARED_SCHEMAS));
  for (const schema of SHARED_SCHEMAS) app.addSchema(schema);
  // Callback-style hooks, and the access log only when it is written: each async hook costs every
  // request a promise and a turn of the microtask queue.
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    done();
  });
  installRequestGuards(app);
  if (logger && ['trace', 'debug', 'info'].includes(logger.level)) {
    app.addHook('onResponse', (request, reply, done) => {
      request.log.info(
        {
          method: request.method,
          // A client may have put a key in the URL; the log line shows it redacted.
          url: redactSecrets(request.url),
          status: reply.statusCode,
          ms: Math.round(reply.elapsedTime * 10) / 10,
        },
        'request',
      );
      done();
    });
  }
  installBodyParsing(app);
  installErrorHandling(
    app,
    store,
    authFailureLimiter({ limit: limits.authFailureLimit ?? 0, windowMs: limits.authFailureWindowMs ?? 1 }),
  );
  installAuth(app, store);
  installKeyRateLimit(app, { limit: limits.keyRateLimit ?? 0, windowMs: limits.keyRateWindowMs ?? 1 });
  await installOpenApi(app, version);

  const deps = { store, clock };
  permissionRoutes(app, deps);
  checkpointRoutes(app, deps);
  projectRoutes(app, deps);
  metaRoutes(app, deps);

  await app.ready();
  return app;
}
