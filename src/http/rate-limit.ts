import { isIPv6 } from 'node:net';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { type ApiError, rateLimited } from '../errors.ts';

/**
 * Two limits, both in memory, per replica (behind N replicas a client gets up to N times the
 * budget; the store is not asked per request to share counters):
 *
 * - Failed authentication, per client address: past `limit` failures in a window, a request whose
 *   key fails answers 429 instead of 401 until the window ends. The key is still checked first, so
 *   a valid key is never refused for someone else's failures from the same address (a NAT, a
 *   proxy). IPv6 clients count per /64, the block one subscriber usually holds.
 * - Requests per API key (off unless configured): past `limit` in a window, 429.
 *
 * Both 429s carry `retry-after` (whole seconds until the window ends) and `retry-after-ms`, which
 * the SDK honours; the failed-authentication one also says `x-should-retry: false`.
 */
export type Budget = { limit: number; windowMs: number };

export type AuthFailureLimiter = {
  /** Counts a failed authentication of `request`; the 429 to answer instead when over budget. */
  recordFailure(request: FastifyRequest): Promise<ApiError | undefined>;
};

export function authFailureLimiter({ limit, windowMs }: Budget): AuthFailureLimiter | undefined {
  if (limit <= 0) return undefined;
  const limiter = new RateLimiterMemory({ points: limit, duration: windowMs / 1000 });
  return {
    recordFailure: (request) =>
      limiter.consume(addressKey(request.ip)).then(
        () => undefined,
        (rejection: unknown) =>
          overBudget(
            rejection,
            `Too many failed authentications from your address: more than ${limit} in ${windowMs / 1000} s. Retry after the time in retry-after, with a valid key.`,
            // The same key would fail again: the SDK should not wait to retry it.
            false,
          ),
      ),
  };
}

/** Adds the per-key request limit, after authentication has named the key. */
export function installKeyRateLimit(app: FastifyInstance, { limit, windowMs }: Budget): void {
  if (limit <= 0) return;
  const limiter = new RateLimiterMemory({ points: limit, duration: windowMs / 1000 });
  const message = `Rate limit reached for this API key: ${limit} requests per ${windowMs / 1000} s. Retry after the time in retry-after.`;
  app.addHook('onRequest', (request, _reply, done) => {
    if (!request.caller) return done();
    limiter.consume(request.caller.keyId).then(
      () => done(),
      (rejection: unknown) => {
        const refused = overBudget(rejection, message, true);
        if (refused) done(refused);
        else done();
      },
    );
  });
}

/**
 * The limiter rejects with its state when over budget, with an Error only if it failed itself; a
 * limiter that fails lets the request through (it guards the store, it is not what keeps keys secret).
 */
function overBudget(rejection: unknown, message: string, retryable: boolean): ApiError | undefined {
  if (!(rejection instanceof RateLimiterRes)) return undefined;
  return rateLimited(message, rejection.msBeforeNext, retryable);
}

/** The client address to count under: IPv4 as it is, IPv6 by its /64 (an IPv4-mapped one as IPv4). */
export function addressKey(ip: string): string {
  const address = ip.replace(/%.*$/, '');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped?.[1]) return mapped[1];
  if (!isIPv6(address)) return address;
  const [head = '', tail] = address.split('::');
  const front = head === '' ? [] : head.split(':');
  const back = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? front : [...front, ...Array(8 - front.length - back.length).fill('0'), ...back];
  return `${groups
    .slice(0, 4)
    .map((group) => Number.parseInt(group, 16).toString(16))
    .join(':')}::/64`;
}
