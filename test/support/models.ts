import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { type AppOptions, buildApp } from '../../src/app.ts';
import type { Store } from '../../src/storage/store.ts';
import { type Backend, openTestStore } from './backends.ts';
import { send } from './http.ts';
import { bearer } from './world.ts';

/**
 * Helpers of the suites about keys, model permissions and `/v1/models` (test/http/models*.test.ts,
 * model-access, model-permissions, the property test), on top of `http.ts` and `world.ts`.
 */

/** An in-process app over `store` with the given clock, base models, …; the caller closes it. */
export async function appWith(store: Store, options: Omit<AppOptions, 'store'> = {}): Promise<FastifyInstance> {
  return (await buildApp({ store, ...options })) as unknown as FastifyInstance;
}

/**
 * Like `useWorld`, with one app per entry of `configs` (base models, clock, …) over one store, all
 * built before the describe block's tests and closed, apps first, after them.
 */
export function useApps(
  backend: Backend,
  configs: Omit<AppOptions, 'store'>[],
): { readonly store: Store; readonly apps: readonly FastifyInstance[] } {
  let ctx: Awaited<ReturnType<typeof openTestStore>> | undefined;
  const apps: FastifyInstance[] = [];
  before(async () => {
    ctx = await openTestStore(backend);
    for (const config of configs) apps.push(await appWith(ctx.store, config));
  });
  after(async () => {
    for (const app of apps) await app.close();
    await ctx?.dispose();
  });
  return {
    get store() {
      if (!ctx) throw new Error('store used outside a test');
      return ctx.store;
    },
    apps,
  };
}

/** Runs `work` against an app built with `options`, and closes the app however `work` ends. */
export async function withApp<T>(
  store: Store,
  options: Omit<AppOptions, 'store'>,
  work: (app: FastifyInstance) => Promise<T>,
): Promise<T> {
  const app = await appWith(store, options);
  try {
    return await work(app);
  } finally {
    await app.close();
  }
}

/** A model id in a URL path segment: what the SDK sends (`/` as %2F, colons raw). */
export const modelPath = (model: string) => `/v1/models/${model.replaceAll('/', '%2F')}`;

/** GET /v1/models with `key`, asserting 200 and the list shape; the model objects. */
export async function listModels(app: FastifyInstance, key: string) {
  const response = await send(app, { method: 'GET', url: '/v1/models', headers: bearer(key) });
  assert.equal(response.status, 200, JSON.stringify(response.body));
  assert.deepEqual(Object.keys(response.body), ['object', 'data']);
  assert.equal(response.body.object, 'list');
  return response.body.data as { id: string; object: 'model'; created: number; owned_by: string }[];
}

export const modelIds = async (app: FastifyInstance, key: string) => (await listModels(app, key)).map((m) => m.id);

export function retrieveModel(app: FastifyInstance, key: string, model: string) {
  return send(app, { method: 'GET', url: modelPath(model), headers: bearer(key) });
}

export type AccessAnswer = {
  object: 'model_access';
  project_id: string;
  model: string;
  allowed: boolean;
  reason: string;
};

/** POST /v1/organization/model_access, asserting 200 and one answer per check, in order. */
export async function modelAccess(
  app: FastifyInstance,
  adminKey: string,
  checks: { project_id: string; model: string }[],
): Promise<AccessAnswer[]> {
  const response = await send(app, {
    method: 'POST',
    url: '/v1/organization/model_access',
    headers: bearer(adminKey),
    payload: { checks },
  });
  assert.equal(response.status, 200, JSON.stringify(response.body));
  assert.deepEqual(Object.keys(response.body), ['object', 'data']);
  assert.equal(response.body.object, 'list');
  const data = response.body.data as AccessAnswer[];
  assert.equal(data.length, checks.length);
  data.forEach((answer, i) => {
    assert.deepEqual(Object.keys(answer), ['object', 'project_id', 'model', 'allowed', 'reason']);
    assert.equal(answer.object, 'model_access');
    assert.equal(answer.project_id, checks[i]?.project_id);
    assert.equal(answer.model, checks[i]?.model);
  });
  return data;
}

export const modelPermissionsUrl = (projectId: string) => `/v1/organization/projects/${projectId}/model_permissions`;

/** POST .../model_permissions, asserting 200. */
export async function setModelPermissions(
  app: FastifyInstance,
  adminKey: string,
  projectId: string,
  mode: 'allow_list' | 'deny_list',
  modelIds: string[],
) {
  const response = await send(app, {
    method: 'POST',
    url: modelPermissionsUrl(projectId),
    headers: bearer(adminKey),
    payload: { mode, model_ids: modelIds },
  });
  assert.equal(response.status, 200, JSON.stringify(response.body));
  return response.body;
}

/** DELETE .../model_permissions, asserting 200. */
export async function deleteModelPermissions(app: FastifyInstance, adminKey: string, projectId: string) {
  const response = await send(app, {
    method: 'DELETE',
    url: modelPermissionsUrl(projectId),
    headers: bearer(adminKey),
  });
  assert.equal(response.status, 200, JSON.stringify(response.body));
  return response.body;
}

/** GET with an admin key, asserting 200; the body. */
export async function adminGet(app: FastifyInstance, adminKey: string, url: string) {
  const response = await send(app, { method: 'GET', url, headers: bearer(adminKey) });
  assert.equal(response.status, 200, `${url}: ${JSON.stringify(response.body)}`);
  return response.body;
}

/** The `n` most recent audit events of the caller's organization (newest first). */
export async function auditEvents(app: FastifyInstance, adminKey: string) {
  return (await adminGet(app, adminKey, '/v1/organization/audit_logs?limit=100')).data as {
    id: string;
    type: string;
  }[];
}

/** OpenAI's shown-once secrets: what a listing or retrieval must never contain. */
export function assertNoSecret(body: unknown, secrets: readonly string[]): void {
  const text = JSON.stringify(body);
  for (const secret of secrets) {
    assert.ok(!text.includes(secret), `a secret leaked: ${text}`);
    // Nor any long piece of it: only the first 6 and last 4 characters may show.
    assert.ok(!text.includes(secret.slice(0, 12)), `a secret's head leaked: ${text}`);
    assert.ok(!text.includes(secret.slice(-8)), `a secret's tail leaked: ${text}`);
  }
}

/** What `redacted_value` must be for `secret`: its first 6 and last 4 characters. */
export const redacted = (secret: string) => `${secret.slice(0, 6)}****${secret.slice(-4)}`;
