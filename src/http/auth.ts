import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AccessService } from '../domain/access-service.ts';
import { type Caller, requireAdmin } from '../domain/auth.ts';

/** Who may call a route: set in its `config.auth`; routes without it (health) are public. */
export type RouteAuth = 'admin' | 'any';

declare module 'fastify' {
  interface FastifyContextConfig {
    auth?: RouteAuth;
  }
  interface FastifyRequest {
    caller: Caller | null;
  }
}

/**
 * The auth matrix, written once: it runs before the body is read, so an unauthenticated client
 * cannot make the server parse a megabyte, and every route answers no key, bad key and project
 * key alike. Callback style: a cached key is admitted without a promise (AccessService).
 */
export function installAuth(app: FastifyInstance, access: AccessService): void {
  app.decorateRequest('caller', null);
  app.addHook('onRequest', (request, _reply, done) => {
    const auth = request.routeOptions.config.auth;
    if (auth === undefined) return done();
    const admit = (caller: Caller) => {
      if (auth === 'admin') requireAdmin(caller);
      request.caller = caller;
    };
    let outcome: Caller | Promise<Caller>;
    try {
      outcome = access.authenticate(request.headers.authorization);
      if (!(outcome instanceof Promise)) {
        admit(outcome);
        return done();
      }
    } catch (error) {
      return done(error as Error);
    }
    outcome.then(
      (caller) => {
        try {
          admit(caller);
          done();
        } catch (error) {
          done(error as Error);
        }
      },
      (error: Error) => done(error),
    );
  });
}

/** The caller of an authenticated route; the hook above guarantees it is set. */
export function callerOf(request: FastifyRequest): Caller {
  if (!request.caller) throw new Error(`route ${request.routeOptions.url} has no auth config`);
  return request.caller;
}
