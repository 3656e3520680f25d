import type { Server } from 'node:http';
import type { FastifyHttpOptions } from 'fastify';
import type { Config } from '../config.ts';

/** The settings that shape connections and rate limits; `buildApp` takes them from the Config. */
export type EdgeLimits = Pick<
  Config,
  | 'headersTimeoutMs'
  | 'requestTimeoutMs'
  | 'keepAliveTimeoutMs'
  | 'maxConnections'
  | 'trustProxy'
  | 'authFailureLimit'
  | 'authFailureWindowMs'
  | 'keyRateLimit'
  | 'keyRateWindowMs'
>;

/**
 * Fastify's server options for `limits`. Without limits (tests in-process), Node's and Fastify's
 * defaults, except the Host check, which the request guards make in the OpenAI envelope.
 */
export function serverOptions(limits: Partial<EdgeLimits>): FastifyHttpOptions<Server> {
  const { headersTimeoutMs, requestTimeoutMs, keepAliveTimeoutMs, trustProxy } = limits;
  return {
    // On SIGTERM, a request that reaches the app on a keep-alive connection is served, with
    // `Connection: close` so the client's next request goes elsewhere. Fastify's default answers it
    // 503 with a body of its own: neither the OpenAI envelope nor an x-request-id, for a request
    // the replica could still serve while it drains.
    return503OnClosing: false,
    http: {
      // Node answers a missing Host with a bare 400 of its own; the request guards answer it instead.
      requireHostHeader: false,
      ...(headersTimeoutMs === undefined ? {} : { headersTimeout: headersTimeoutMs }),
      ...(requestTimeoutMs === undefined ? {} : { requestTimeout: requestTimeoutMs }),
      // Node looks for clients past these timeouts every 30 s by default: a 10 s headers timeout
      // would really be up to 40 s. A few looks per timeout keep it close.
      ...(headersTimeoutMs === undefined ? {} : { connectionsCheckingInterval: checkingInterval(headersTimeoutMs) }),
    },
    // Fastify sets these on its server after creating it (0 = none).
    ...(requestTimeoutMs === undefined ? {} : { requestTimeout: requestTimeoutMs }),
    ...(keepAliveTimeoutMs === undefined ? {} : { keepAliveTimeout: keepAliveTimeoutMs }),
    ...(trustProxy === undefined ? {} : { trustProxy: trustProxyOf(trustProxy) }),
  };
}

const checkingInterval = (timeoutMs: number) => Math.max(25, Math.min(1000, Math.floor(timeoutMs / 4)));

/**
 * `--trust-proxy` as Fastify takes it: `false` (the socket's address is the client), `true` (the
 * left-most X-Forwarded-For address, whoever sent it: spoofable unless every client goes through
 * the proxy), a number of proxy hops, or the proxies' addresses and CIDRs.
 */
export function trustProxyOf(value: string): boolean | string | ((address: string, hop: number) => boolean) {
  const text = value.trim();
  if (text === 'false') return false;
  if (text === 'true') return true;
  if (/^\d+$/.test(text)) {
    const hops = Number(text);
    return (_address, hop) => hop < hops;
  }
  return text;
}
