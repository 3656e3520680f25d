import type { InjectOptions } from 'fastify';

/**
 * Every route the server serves under /v1, written once: the auth matrix (test/http/auth.test.ts)
 * and the OpenAPI check (test/http/meta.test.ts) both walk this table.
 */

/** The ids a route's URL and body are built from: a `Shared` fixture, or ids that exist nowhere. */
export type RouteIds = { owner: string; grantee: string; checkpoint: string; permission: string };

export type RouteCase = {
  /** The OpenAPI path template of the route. */
  path: string;
  method: 'GET' | 'POST' | 'DELETE';
  url: (ids: RouteIds) => string;
  body?: (ids: RouteIds) => unknown;
  /** Admin routes refuse project keys with 403; `any` routes accept every valid key. */
  auth: 'admin' | 'any';
  /**
   * What another organization's admin key gets. `absent`: exactly the answer for ids that exist
   * nowhere (a 4xx). `own`: a 200 over its own organization, with none of the other's data.
   */
  foreign: 'absent' | 'own';
};

const CKPT = '/v1/fine_tuning/checkpoints/{fine_tuned_model_checkpoint}';
const PROJ = '/v1/organization/projects/{project_id}';

export const V1_ROUTES: RouteCase[] = [
  {
    path: `${CKPT}/permissions`,
    method: 'POST',
    url: (i) => `/v1/fine_tuning/checkpoints/${i.checkpoint}/permissions`,
    body: (i) => ({ project_ids: [i.owner] }),
    auth: 'admin',
    foreign: 'absent',
  },
  {
    path: `${CKPT}/permissions`,
    method: 'GET',
    url: (i) => `/v1/fine_tuning/checkpoints/${i.checkpoint}/permissions`,
    auth: 'admin',
    foreign: 'absent',
  },
  {
    path: `${CKPT}/permissions`,
    method: 'GET',
    url: (i) => `/v1/fine_tuning/checkpoints/${i.checkpoint}/permissions?after=${i.permission}&project_id=${i.grantee}`,
    auth: 'admin',
    foreign: 'absent',
  },
  {
    path: `${CKPT}/permissions/{permission_id}`,
    method: 'DELETE',
    url: (i) => `/v1/fine_tuning/checkpoints/${i.checkpoint}/permissions/${i.permission}`,
    auth: 'admin',
    foreign: 'absent',
  },
  {
    path: '/v1/fine_tuning/checkpoints',
    method: 'POST',
    url: () => '/v1/fine_tuning/checkpoints',
    body: (i) => ({ fine_tuned_model_checkpoint: `${i.checkpoint}-copy`, project_id: i.owner }),
    auth: 'admin',
    foreign: 'absent',
  },
  {
    path: '/v1/fine_tuning/checkpoints',
    method: 'GET',
    url: () => '/v1/fine_tuning/checkpoints',
    auth: 'admin',
    foreign: 'own',
  },
  {
    path: '/v1/fine_tuning/checkpoints',
    method: 'GET',
    url: (i) => `/v1/fine_tuning/checkpoints?project_id=${i.owner}`,
    auth: 'admin',
    foreign: 'own',
  },
  {
    path: '/v1/fine_tuning/checkpoints',
    method: 'GET',
    url: (i) => `/v1/fine_tuning/checkpoints?after=${i.checkpoint}`,
    auth: 'admin',
    foreign: 'absent',
  },
  {
    path: CKPT,
    method: 'GET',
    url: (i) => `/v1/fine_tuning/checkpoints/${i.checkpoint}`,
    auth: 'admin',
    foreign: 'absent',
  },
  {
    path: CKPT,
    method: 'DELETE',
    url: (i) => `/v1/fine_tuning/checkpoints/${i.checkpoint}`,
    auth: 'admin',
    foreign: 'absent',
  },
  {
    path: '/v1/organization/projects',
    method: 'POST',
    url: () => '/v1/organization/projects',
    body: () => ({ name: 'made by the caller' }),
    auth: 'admin',
    foreign: 'own',
  },
  {
    path: '/v1/organization/projects',
    method: 'GET',
    url: () => '/v1/organization/projects?include_archived=true&limit=100',
    auth: 'admin',
    foreign: 'own',
  },
  {
    path: '/v1/organization/projects',
    method: 'GET',
    url: (i) => `/v1/organization/projects?after=${i.owner}`,
    auth: 'admin',
    foreign: 'absent',
  },
  { path: PROJ, method: 'GET', url: (i) => `/v1/organization/projects/${i.grantee}`, auth: 'admin', foreign: 'absent' },
  {
    path: PROJ,
    method: 'POST',
    url: (i) => `/v1/organization/projects/${i.grantee}`,
    body: () => ({ name: 'renamed' }),
    auth: 'admin',
    foreign: 'absent',
  },
  {
    path: `${PROJ}/archive`,
    method: 'POST',
    url: (i) => `/v1/organization/projects/${i.grantee}/archive`,
    auth: 'admin',
    foreign: 'absent',
  },
  {
    path: `${PROJ}/service_accounts`,
    method: 'POST',
    url: (i) => `/v1/organization/projects/${i.grantee}/service_accounts`,
    body: () => ({ name: 'intruder' }),
    auth: 'admin',
    foreign: 'absent',
  },
  { path: '/v1/openapi.json', method: 'GET', url: () => '/v1/openapi.json', auth: 'any', foreign: 'own' },
];

/** The inject options of `route` over `ids`, with `headers`. */
export function requestOf(route: RouteCase, ids: RouteIds, headers: Record<string, string>): InjectOptions {
  const body = route.body?.(ids);
  return {
    method: route.method,
    url: route.url(ids),
    headers,
    ...(body === undefined ? {} : { payload: body as object }),
  };
}

export const routeName = (route: RouteCase, ids: RouteIds) => `${route.method} ${route.url(ids)}`;

/** The routes outside /v1: no key needed. */
export const PUBLIC_ROUTES = [
  { path: '/healthz', method: 'GET' as const, status: 'ok' },
  { path: '/readyz', method: 'GET' as const, status: 'ready' },
];
