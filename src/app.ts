import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyBaseLogger, LogController } from 'fastify';
import { AccessService } from './domain/access-service.ts';
import { DEFAULT_ORG_ID } from './domain/bootstrap.ts';
import { emulatorRewriteUrl } from './emulator/paths.ts';
import { emulatorRoutes } from './emulator/routes.ts';
import { EMULATOR_KEY_ID, type EmulatorWorld, loadWorld } from './emulator/world.ts';
import { installAuth } from './http/auth.ts';
import { installBodyParsing } from './http/body.ts';
import { createClientErrorHandler, installServerGuards } from './http/client-errors.ts';
import { schemaCompilers } from './http/compilers.ts';
import type { App } from './http/deps.ts';
import { installErrorHandling, routingError } from './http/error-handler.ts';
import { installOpenApi } from './http/openapi.ts';
import { parseQueryString } from './http/query.ts';
import { authFailureLimiter, installKeyRateLimit } from './http/rate-limit.ts';
import { installRequestGuards } from './http/request-guards.ts';
import { adminKeyRoutes } from './http/routes/admin-keys.ts';
import { auditLogRoutes } from './http/routes/audit-logs.ts';
import { checkpointRoutes } from './http/routes/checkpoints.ts';
import { metaRoutes } from './http/routes/meta.ts';
import { modelPermissionRoutes } from './http/routes/model-permissions.ts';
import { modelRoutes } from './http/routes/models.ts';
import { permissionRoutes } from './http/routes/permissions.ts';
import { projectKeyRoutes } from './http/routes/project-keys.ts';
import { projectRoutes } from './http/routes/projects.ts';
import { serviceAccountRoutes } from './http/routes/service-accounts.ts';
import { transferRoutes } from './http/routes/transfer.ts';
import { LIMITS, SHARED_SCHEMAS } from './http/schemas.ts';
import { AUDIT_SCHEMAS } from './http/schemas-audit.ts';
import { KEY_SCHEMAS } from './http/schemas-keys.ts';
import { MODEL_SCHEMAS } from './http/schemas-models.ts';
import type { SeedDocumentWire } from './http/schemas-state.ts';
import { type EdgeLimits, serverOptions } from './http/server-options.ts';
import { type Clock, newId, systemClock } from './ids.ts';
import { redactSecrets } from './redact.ts';
import type { Store } from './storage/store.ts';

export type AppOptions = {
  store: Store;
  clock?: Clock;
  /** A pino logger; omitted in tests, where the app logs nothing. */
  logger?: FastifyBaseLogger;
  version?: string;
  /** FTSHARE_BASE_MODELS: models every project may use, before its model permissions. */
  baseModels?: readonly string[];
  /**
   * Emulator mode (`ftshare emulate`): any unknown bearer is an admin of the default organization,
   * what a request names exists, and `/__ftshare/*` resets to (and dumps) the seeded state.
   */
  emulator?: { seed: SeedDocumentWire | null };
  /**
   * Timeouts, the connection cap, proxy trust and rate limits (the Config has them all). Omitted,
   * the app has Node's and Fastify's defaults and no rate limits: what tests in-process want.
   */
  limits?: Partial<EdgeLimits>;
  /** How often key use (`last_used_at`) is written back; tests shorten it (default 30 s). */
  lastUsedFlushMs?: number;
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
  baseModels = [],
  emulator,
  limits = {},
  lastUsedFlushMs,
}: AppOptions): Promise<App> {
  const schemas = [...SHARED_SCHEMAS, ...KEY_SCHEMAS, ...MODEL_SCHEMAS, ...AUDIT_SCHEMAS];
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
    // Validators and serializers are compiled on first use, not all at start-up (compilers.ts).
    schemaController: schemaCompilers(schemas),
    // One access line per request (below) instead of Fastify's two.
    logController: new LogController({ requestIdLogLabel: 'request_id', disableRequestLogging: true }),
    // Emulator only: the spec's paths at the root too, as OpenAPI mock servers serve them.
    ...(emulator ? { rewriteUrl: emulatorRewriteUrl } : {}),
  }).withTypeProvider<TypeBoxTypeProvider>();
  installServerGuards(app.server, app.log);
  if (limits.maxConnections) app.server.maxConnections = limits.maxConnections;

  for (const schema of schemas) app.addSchema(schema);
  // Callback-style hooks, as few as possible, and the access log only when it is written: each
  // hook costs every request a call, and an async one a promise and a turn of the microtask queue.
  // The first also sets x-request-id (request-guards.ts).
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
  let world: EmulatorWorld | null = null;
  if (emulator) {
    world = { bearer: { orgId: DEFAULT_ORG_ID, keyId: EMULATOR_KEY_ID }, seed: emulator.seed };
    await loadWorld(store, clock, emulator.seed);
  }
  const access = new AccessService({
    store,
    clock,
    baseModels,
    ...(world ? { anyBearer: world.bearer } : {}),
    ...(lastUsedFlushMs === undefined ? {} : { lastUsedFlushMs }),
  });
  app.addHook('onClose', async () => access.close());
  installBodyParsing(app);
  installErrorHandling(
    app,
    store,
    authFailureLimiter({ limit: limits.authFailureLimit ?? 0, windowMs: limits.authFailureWindowMs ?? 1 }),
  );
  installAuth(app, access);
  installKeyRateLimit(app, { limit: limits.keyRateLimit ?? 0, windowMs: limits.keyRateWindowMs ?? 1 });
  await installOpenApi(app, version);

  const deps = { store, clock, access };
  permissionRoutes(app, deps);
  checkpointRoutes(app, deps);
  projectRoutes(app, deps);
  serviceAccountRoutes(app, deps);
  projectKeyRoutes(app, deps);
  adminKeyRoutes(app, deps);
  modelPermissionRoutes(app, deps);
  modelRoutes(app, deps);
  auditLogRoutes(app, deps);
  transferRoutes(app, deps);
  metaRoutes(app, deps);
  if (world) emulatorRoutes(app, store, clock, access, world);

  await app.ready();
  return app;
}
