import type { FastifyInstance, FastifyRequest } from 'fastify';
import { authenticate, type Caller, requireAdmin } from '../domain/auth.ts';
import type { Store } from '../storage/store.ts';

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
 * key alike.
 */
export function installAuth(app: FastifyInstance, store: Store): void {
  app.decorateRequest('caller', null);
  app.addHook('onRequest', async (request) => {
    const auth = request.routeOptions.config.auth;
    if (auth === undefined) return;
    const caller = await authenticate(store, request.headers.authorization);
    if (auth === 'admin') requireAdmin(caller);
    request.caller = caller;
  });
}

/** The caller of an authenticated route; the hook above guarantees it is set. */
export function callerOf(request: FastifyRequest): Caller {
  if (!request.caller) throw new Error(`route ${request.routeOptions.url} has no auth config`);
  return request.caller;
}
