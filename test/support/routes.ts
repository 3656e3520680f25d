import type { InjectOptions } from 'fastify';

/**
 * Every route the server serves under /v1, written once: the auth matrix (test/http/auth.test.ts)
 * and the OpenAPI check (test/http/meta.test.ts) both walk this table.
 */

/** The ids a route's URL and body are built from: a `Shared` fixture, or ids that exist nowhere. */
export type RouteIds = {
  owner: string;
  grantee: string;
  checkpoint: string;
  permission: string;
  /** A service account of the grantee, its key, and a second admin key of the organization. */
  serviceAccount: string;
  projectKey: string;
  adminKey: string;
};

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
const SA = `${PROJ}/service_accounts/{service_account_id}`;
const PKEY = `${PROJ}/api_keys/{api_key_id}`;
const AKEY = '/v1/organization/admin_api_keys/{key_id}';
const projectUrl = (i: RouteIds) => `/v1/organization/projects/${i.grantee}`;
const accountUrl = (i: RouteIds) => `${projectUrl(i)}/service_accounts/${i.serviceAccount}`;
const projectKeyUrl = (i: RouteIds) => `${projectUrl(i)}/api_keys/${i.projectKey}`;

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
  // Service accounts and project keys
  {
    path: `${PROJ}/service_accounts`,
    method: 'GET',
    url: (i) => `${projectUrl(i)}/service_accounts`,
    auth: 'admin',
    foreign: 'absent',
  },
  {
    path: `${PROJ}/service_accounts`,
    method: 'GET',
    url: (i) => `${projectUrl(i)}/service_accounts?after=${i.serviceAccount}`,
    auth: 'admin',
    foreign: 'absent',
  },
  { path: SA, method: 'GET', url: accountUrl, auth: 'admin', foreign: 'absent' },
  {
    path: SA,
    method: 'POST',
    url: accountUrl,
    body: () => ({ name: 'renamed', role: 'owner' }),
    auth: 'admin',
    foreign: 'absent',
  },
  { path: SA, method: 'DELETE', url: accountUrl, auth: 'admin', foreign: 'absent' },
  {
    path: `${SA}/api_keys`,
    method: 'POST',
    url: (i) => `${accountUrl(i)}/api_keys`,
    body: () => ({ name: 'another', scopes: ['api.model.read'] }),
    auth: 'admin',
    foreign: 'absent',
  },
  {
    path: `${PROJ}/api_keys`,
    method: 'GET',
    url: (i) => `${projectUrl(i)}/api_keys`,
    auth: 'admin',
    foreign: 'absent',
  },
  { path: PKEY, method: 'GET', url: projectKeyUrl, auth: 'admin', foreign: 'absent' },
  {
    path: PKEY,
    method: 'POST',
    url: projectKeyUrl,
    body: () => ({ expires_in_seconds: 3600 }),
    auth: 'admin',
    foreign: 'absent',
  },
  { path: PKEY, method: 'DELETE', url: projectKeyUrl, auth: 'admin', foreign: 'absent' },
  // Model permissions
  {
    path: `${PROJ}/model_permissions`,
    method: 'GET',
    url: (i) => `${projectUrl(i)}/model_permissions`,
    auth: 'admin',
    foreign: 'absent',
  },
  {
    path: `${PROJ}/model_permissions`,
    method: 'POST',
    url: (i) => `${projectUrl(i)}/model_permissions`,
    body: (i) => ({ mode: 'deny_list', model_ids: [i.checkpoint] }),
    auth: 'admin',
    foreign: 'absent',
  },
  {
    path: `${PROJ}/model_permissions`,
    method: 'DELETE',
    url: (i) => `${projectUrl(i)}/model_permissions`,
    auth: 'admin',
    foreign: 'absent',
  },
  // Admin keys
  {
    path: '/v1/organization/admin_api_keys',
    method: 'POST',
    url: () => '/v1/organization/admin_api_keys',
    body: () => ({ name: 'made by the caller', expires_in_seconds: 600 }),
    auth: 'admin',
    foreign: 'own',
  },
  {
    path: '/v1/organization/admin_api_keys',
    method: 'GET',
    url: () => '/v1/organization/admin_api_keys?order=desc&limit=100',
    auth: 'admin',
    foreign: 'own',
  },
  {
    path: '/v1/organization/admin_api_keys',
    method: 'GET',
    url: (i) => `/v1/organization/admin_api_keys?after=${i.adminKey}`,
    auth: 'admin',
    foreign: 'absent',
  },
  {
    path: AKEY,
    method: 'GET',
    url: (i) => `/v1/organization/admin_api_keys/${i.adminKey}`,
    auth: 'admin',
    foreign: 'absent',
  },
  {
    path: AKEY,
    method: 'DELETE',
    url: (i) => `/v1/organization/admin_api_keys/${i.adminKey}`,
    auth: 'admin',
    foreign: 'absent',
  },
  // Models and access
  { path: '/v1/models', method: 'GET', url: () => '/v1/models', auth: 'any', foreign: 'own' },
  {
    path: '/v1/models/{model}',
    method: 'GET',
    url: (i) => `/v1/models/${i.checkpoint}`,
    auth: 'any',
    foreign: 'absent',
  },
  {
    path: '/v1/models/{model}',
    method: 'DELETE',
    url: (i) => `/v1/models/${i.checkpoint}`,
    auth: 'admin',
    foreign: 'absent',
  },
  {
    path: '/v1/organization/model_access',
    method: 'POST',
    url: () => '/v1/organization/model_access',
    body: (i) => ({
      checks: [
        { project_id: i.grantee, model: i.checkpoint },
        { project_id: i.owner, model: i.checkpoint },
      ],
    }),
    auth: 'admin',
    foreign: 'own',
  },
  // Audit log
  {
    path: '/v1/organization/audit_logs',
    method: 'GET',
    url: () => '/v1/organization/audit_logs?limit=100',
    auth: 'admin',
    foreign: 'own',
  },
  {
    path: '/v1/organization/audit_logs',
    method: 'GET',
    url: (i) => `/v1/organization/audit_logs?project_ids[]=${i.grantee}&event_types[]=checkpoint.permission.created`,
    auth: 'admin',
    foreign: 'own',
  },
  // Export and import
  {
    path: '/v1/organization/export',
    method: 'GET',
    url: () => '/v1/organization/export',
    auth: 'admin',
    foreign: 'own',
  },
  {
    path: '/v1/organization/import',
    method: 'POST',
    url: () => '/v1/organization/import',
    body: () => ({ projects: [] }),
    auth: 'admin',
    foreign: 'own',
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
