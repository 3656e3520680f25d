import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { recordFigures } from '../reliability/figures.ts';
import { listPermissions, type Shared, send } from './http.ts';
import type { RouteIds } from './routes.ts';
import { bearer } from './world.ts';

/** Helpers of the auth and isolation matrices (test/http/auth.test.ts, test/http/isolation.test.ts). */

/**
 * How a matrix declares its cells (a route and a kind of key, one test each), counted and recorded
 * for `npm run test:reliability` when the enclosing suite ends. Call it inside a `describe`.
 */
export function matrixCells(suite: string, store: string, cellsLabel: string) {
  const cells = { run: 0, passed: 0 };
  after(() =>
    recordFigures(suite, store, {
      [cellsLabel]: cells.run,
      'cells failed (a leak or a wrong answer)': cells.run - cells.passed,
    }),
  );
  return (name: string, check: () => Promise<void>) =>
    test(name, async () => {
      cells.run++;
      await check();
      cells.passed++;
    });
}

/** Everything of the fixture's organization that a refused request could have changed, as its admin sees it. */
export async function snapshot(app: FastifyInstance, shared: Shared) {
  const key = shared.org.adminKey;
  const get = async (url: string) => {
    const response = await send(app, { method: 'GET', url, headers: bearer(key) });
    assert.equal(response.status, 200, `${url}: ${JSON.stringify(response.body)}`);
    return response.body;
  };
  const grantee = `/v1/organization/projects/${shared.grantee}`;
  return {
    projects: await get('/v1/organization/projects?include_archived=true&limit=100'),
    checkpoints: await get('/v1/fine_tuning/checkpoints?limit=100'),
    permissions: await listPermissions(app, key, shared.checkpoint, { limit: 100 }),
    adminKeys: await get('/v1/organization/admin_api_keys?limit=100'),
    serviceAccounts: await get(`${grantee}/service_accounts?limit=100`),
    projectKeys: await get(`${grantee}/api_keys?limit=100`),
    modelPermissions: await get(`${grantee}/model_permissions`),
    audit: await get('/v1/organization/audit_logs?limit=100'),
  };
}

/** Replaces every occurrence of each `from` id with the matching `to` id, in a JSON value. */
export function substitute(value: unknown, from: RouteIds, to: RouteIds): unknown {
  let text = JSON.stringify(value);
  for (const field of Object.keys(from) as (keyof RouteIds)[]) text = text.replaceAll(from[field], to[field]);
  return JSON.parse(text);
}

export const PLACEHOLDERS: RouteIds = {
  owner: '{owner}',
  grantee: '{grantee}',
  checkpoint: '{checkpoint}',
  permission: '{permission}',
  serviceAccount: '{service_account}',
  projectKey: '{project_key}',
  adminKey: '{admin_key}',
};

/** The ids of `shared` a response may not show: every one the request did not name, and its organization's. */
export function assertNoLeak(shared: Shared, sent: string, body: unknown): void {
  const text = JSON.stringify(body);
  assert.ok(!text.includes(shared.org.orgId), text);
  for (const id of [
    shared.owner,
    shared.grantee,
    shared.checkpoint,
    shared.permission,
    shared.serviceAccount,
    shared.projectKey,
    shared.adminKey,
  ]) {
    if (!sent.includes(id)) assert.ok(!text.includes(id), `${id} leaked: ${text}`);
  }
}
