import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before } from 'node:test';
import type { FastifyInstance, InjectOptions } from 'fastify';
import type { Clock } from '../../src/ids.ts';
import type { Store } from '../../src/storage/store.ts';
import { type Backend, openTestStore } from './backends.ts';
import {
  bearer,
  call,
  checkpointName,
  createProject,
  newOrg,
  registerCheckpoint,
  type TestOrg,
  testApp,
} from './world.ts';

/** Helpers of the in-process HTTP suites (test/http), on top of `world.ts`. */

export type Response = Awaited<ReturnType<typeof call>>;

/** `call`, plus the check every response must pass (CONTRACT §3): it carries an `x-request-id`. */
export async function send(app: FastifyInstance, options: InjectOptions): Promise<Response> {
  const response = await call(app, options);
  const id = response.headers['x-request-id'];
  assert.equal(typeof id, 'string', `${options.method} ${options.url}: no x-request-id header`);
  assert.ok((id as string).length > 0, `${options.method} ${options.url}: empty x-request-id header`);
  return response;
}

/** One store and one app per describe block, closed after it; tests isolate themselves with `newOrg`. */
export function useWorld(backend: Backend): { readonly store: Store; readonly app: FastifyInstance } {
  let ctx: Awaited<ReturnType<typeof openTestStore>> | undefined;
  let app: FastifyInstance | undefined;
  before(async () => {
    ctx = await openTestStore(backend);
    app = await testApp(ctx.store);
  });
  after(async () => {
    await app?.close();
    await ctx?.dispose();
  });
  return {
    get store() {
      if (!ctx) throw new Error('store used outside a test');
      return ctx.store;
    },
    get app() {
      if (!app) throw new Error('app used outside a test');
      return app;
    },
  };
}

/** A clock the test moves by hand: `created_at` values become exact. */
export function pinnedClock(start = 1_700_000_000): Clock & { now: number } {
  return {
    now: start,
    nowSeconds() {
      return this.now;
    },
  };
}

type ExpectedError = { param?: string | null; code?: string | null; message?: string | RegExp };

/** The OpenAI error envelope: status, all four keys, and whatever of param/code/message is given. */
export function assertError(response: Response, status: number, expected: ExpectedError = {}): void {
  const where = JSON.stringify(response.body);
  assert.equal(response.status, status, where);
  assert.deepEqual(Object.keys(response.body ?? {}), ['error'], where);
  const error = response.body.error;
  assert.deepEqual(Object.keys(error).sort(), ['code', 'message', 'param', 'type'], where);
  assert.equal(typeof error.message, 'string', where);
  assert.ok(error.message.length > 0, where);
  // OpenAI's 429 carries the kind of limit as its type; every other client error is invalid_request_error.
  assert.equal(
    error.type,
    status >= 500 ? 'server_error' : status === 429 ? 'requests' : 'invalid_request_error',
    where,
  );
  assert.ok(error.param === null || typeof error.param === 'string', where);
  assert.ok(error.code === null || typeof error.code === 'string', where);
  if ('param' in expected) assert.equal(error.param, expected.param, where);
  if ('code' in expected) assert.equal(error.code, expected.code, where);
  if (typeof expected.message === 'string') assert.equal(error.message, expected.message, where);
  else if (expected.message) assert.match(error.message, expected.message, where);
}

export const modelNotFoundMessage = (checkpoint: string) =>
  `The model \`${checkpoint}\` does not exist or you do not have access to it.`;

export const assertModelNotFound = (response: Response, checkpoint: string) =>
  assertError(response, 404, { code: 'model_not_found', message: modelNotFoundMessage(checkpoint) });

/** A checkpoint name with every colon percent-encoded, as some clients send it. */
export const encoded = (checkpoint: string) => checkpoint.replaceAll(':', '%3A');

export const permissionsUrl = (checkpoint: string) => `/v1/fine_tuning/checkpoints/${checkpoint}/permissions`;

export const PERMISSION_ID = /^cp_[0-9A-Za-z]{24}$/;

/** POST .../permissions, asserting 200; returns the list envelope. */
export async function grant(app: FastifyInstance, adminKey: string, checkpoint: string, projectIds: unknown[]) {
  const response = await send(app, {
    method: 'POST',
    url: permissionsUrl(checkpoint),
    headers: bearer(adminKey),
    payload: { project_ids: projectIds },
  });
  assert.equal(response.status, 200, JSON.stringify(response.body));
  return response.body;
}

/** GET .../permissions with `query`, asserting 200; returns the list envelope. */
export async function listPermissions(
  app: FastifyInstance,
  adminKey: string,
  checkpoint: string,
  query: Record<string, string | number> = {},
) {
  const search = new URLSearchParams(
    Object.entries(query).map(([k, v]): [string, string] => [k, String(v)]),
  ).toString();
  const response = await send(app, {
    method: 'GET',
    url: `${permissionsUrl(checkpoint)}${search ? `?${search}` : ''}`,
    headers: bearer(adminKey),
  });
  assert.equal(response.status, 200, JSON.stringify(response.body));
  return response.body;
}

/** Checks the list envelope's own invariants: first_id/last_id name the page's ends, null when empty. */
export function assertListEnvelope(body: {
  object: string;
  data: { id: string }[];
  first_id: string | null;
  last_id: string | null;
  has_more: boolean;
}): void {
  assert.deepEqual(Object.keys(body), ['object', 'data', 'first_id', 'last_id', 'has_more']);
  assert.equal(body.object, 'list');
  assert.equal(typeof body.has_more, 'boolean');
  assert.equal(body.first_id, body.data[0]?.id ?? null);
  assert.equal(body.last_id, body.data.at(-1)?.id ?? null);
}

/** Pages through every permission the way the SDK does (after=last_id until has_more is false). */
export async function pageAll(
  app: FastifyInstance,
  adminKey: string,
  checkpoint: string,
  query: Record<string, string | number>,
): Promise<{ pages: { id: string; project_id: string }[][]; hasMore: boolean[] }> {
  const pages: { id: string; project_id: string }[][] = [];
  const hasMore: boolean[] = [];
  let after: string | undefined;
  for (;;) {
    const body = await listPermissions(app, adminKey, checkpoint, { ...query, ...(after ? { after } : {}) });
    assertListEnvelope(body);
    pages.push(body.data);
    hasMore.push(body.has_more);
    if (!body.has_more) return { pages, hasMore };
    assert.equal(typeof body.last_id, 'string', 'a page with has_more:true must carry last_id');
    after = body.last_id;
    assert.ok(pages.length < 1000, 'paging does not end');
  }
}

/** `n` projects, created one after another (so in a known order); their ids. */
export async function createProjects(app: FastifyInstance, adminKey: string, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) ids.push(await createProject(app, adminKey, `project ${i}`));
  return ids;
}

export async function archive(app: FastifyInstance, adminKey: string, projectId: string): Promise<void> {
  const response = await send(app, {
    method: 'POST',
    url: `/v1/organization/projects/${projectId}/archive`,
    headers: bearer(adminKey),
  });
  assert.equal(response.status, 200, JSON.stringify(response.body));
}

/**
 * An organization with an owner project, a registered checkpoint and one permission for a
 * grantee; a service account of the grantee with its key; and a second admin key (so one can be
 * deleted without leaving the organization without any).
 */
export type Shared = {
  org: TestOrg;
  owner: string;
  grantee: string;
  checkpoint: string;
  permission: string;
  serviceAccount: string;
  projectKey: string;
  adminKey: string;
};

export async function sharedCheckpoint(app: FastifyInstance, store: Store): Promise<Shared> {
  const org = await newOrg(store);
  const owner = await createProject(app, org.adminKey, 'owner');
  const grantee = await createProject(app, org.adminKey, 'grantee');
  const checkpoint = checkpointName(':ckpt-step-88');
  await registerCheckpoint(app, org.adminKey, checkpoint, owner);
  const body = await grant(app, org.adminKey, checkpoint, [grantee]);
  const account = await serviceAccount(app, org.adminKey, grantee);
  const admin = await addAdminKey(app, org.adminKey);
  return {
    org,
    owner,
    grantee,
    checkpoint,
    permission: body.data[0].id,
    serviceAccount: account.id,
    projectKey: account.keyId,
    adminKey: admin.id,
  };
}

/** Ids shaped like a `Shared`'s that exist nowhere. */
export const ghostIds = () => ({
  owner: `proj_${randomBytes(12).toString('hex')}`,
  grantee: `proj_${randomBytes(12).toString('hex')}`,
  checkpoint: checkpointName(':ghost'),
  permission: `cp_${randomBytes(12).toString('hex')}`,
  serviceAccount: `svc_acct_${randomBytes(12).toString('hex')}`,
  projectKey: `key_${randomBytes(8).toString('hex')}`,
  adminKey: `key_${randomBytes(8).toString('hex')}`,
});

/** A service account of `projectId` through the API: its id, and its key's id and secret. */
export async function serviceAccount(app: FastifyInstance, adminKey: string, projectId: string, name = 'ci') {
  const response = await send(app, {
    method: 'POST',
    url: `/v1/organization/projects/${projectId}/service_accounts`,
    headers: bearer(adminKey),
    payload: { name },
  });
  assert.equal(response.status, 200, JSON.stringify(response.body));
  return {
    id: response.body.id as string,
    keyId: response.body.api_key.id as string,
    secret: response.body.api_key.value as string,
  };
}

/** A further admin key of the caller's organization, through the API: its id and secret. */
export async function addAdminKey(
  app: FastifyInstance,
  adminKey: string,
  body: Record<string, unknown> = { name: 'second admin key' },
): Promise<{ id: string; secret: string }> {
  const response = await send(app, {
    method: 'POST',
    url: '/v1/organization/admin_api_keys',
    headers: bearer(adminKey),
    payload: body,
  });
  assert.equal(response.status, 200, JSON.stringify(response.body));
  return { id: response.body.id, secret: response.body.value };
}

/** Deletes an admin key through the API. */
export async function deleteAdminKey(app: FastifyInstance, adminKey: string, id: string): Promise<void> {
  const response = await send(app, {
    method: 'DELETE',
    url: `/v1/organization/admin_api_keys/${id}`,
    headers: bearer(adminKey),
  });
  assert.equal(response.status, 200, JSON.stringify(response.body));
}

/** Deletes a project key through the API. */
export async function deleteProjectKey(app: FastifyInstance, adminKey: string, projectId: string, id: string) {
  const response = await send(app, {
    method: 'DELETE',
    url: `/v1/organization/projects/${projectId}/api_keys/${id}`,
    headers: bearer(adminKey),
  });
  assert.equal(response.status, 200, JSON.stringify(response.body));
}
