import type { IncomingMessage } from 'node:http';

/**
 * The first path segments the server serves under `/v1`. OpenAPI mock servers (and so the SDKs'
 * generated test suites, whose default base URL is `http://127.0.0.1:4010`) serve the spec's paths
 * at the root: the emulator answers `/organization/projects` as `/v1/organization/projects`.
 */
const SERVED_UNDER_V1 = new Set(['organization', 'fine_tuning', 'models', 'openapi.json']);

/**
 * Fastify's `rewriteUrl` in emulator mode: a root path whose first segment is served under `/v1`
 * gets the prefix; every other URL (`/v1/...`, `/__ftshare/...`, `/healthz`, an unknown path)
 * is left as it is. Error messages quote the URL as sent (`request.originalUrl`).
 */
export function emulatorRewriteUrl(request: IncomingMessage): string {
  const url = request.url ?? '/';
  const first = /^\/([^/?#]+)/.exec(url)?.[1];
  return first !== undefined && SERVED_UNDER_V1.has(first) ? `/v1${url}` : url;
}
