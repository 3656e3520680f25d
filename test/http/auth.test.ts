import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { mintKey } from '../../src/domain/keys.ts';
import { backends } from '../support/backends.ts';
import {
  addAdminKey,
  assertError,
  deleteAdminKey,
  deleteProjectKey,
  ghostIds,
  listPermissions,
  type Shared,
  send,
  serviceAccount,
  sharedCheckpoint,
  useWorld,
} from '../support/http.ts';
import { PUBLIC_ROUTES, type RouteIds, requestOf, V1_ROUTES } from '../support/routes.ts';
import { bearer, createProject, newOrg, projectKey } from '../support/world.ts';

/** Everything of the fixture's organization that a refused request could have changed, as its admin sees it. */
async function snapshot(app: FastifyInstance, shared: Shared) {
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
function substitute(value: unknown, from: RouteIds, to: RouteIds): unknown {
  let text = JSON.stringify(value);
  for (const field of Object.keys(from) as (keyof RouteIds)[]) text = text.replaceAll(from[field], to[field]);
  return JSON.parse(text);
}

const PLACEHOLDERS: RouteIds = {
  owner: '{owner}',
  grantee: '{grantee}',
  checkpoint: '{checkpoint}',
  permission: '{permission}',
  serviceAccount: '{service_account}',
  projectKey: '{project_key}',
  adminKey: '{admin_key}',
};

/** CONTRACT §2: the auth matrix, applied to every /v1 route of `V1_ROUTES`. */
for (const backend of await backends()) {
  describe(`auth matrix (${backend.name})`, () => {
    const world = useWorld(backend);

    for (const route of V1_ROUTES) {
      const label = `${route.method} ${route.url(PLACEHOLDERS)}`;

      test(`${label}: its own organization's admin key succeeds`, async () => {
        const shared = await sharedCheckpoint(world.app, world.store);
        const response = await send(world.app, requestOf(route, shared, bearer(shared.org.adminKey)));
        assert.equal(response.status, 200, JSON.stringify(response.body));
      });

      test(`${label}: no key, an empty key or another scheme → 401`, async () => {
        const shared = await sharedCheckpoint(world.app, world.store);
        const before = await snapshot(world.app, shared);
        const headerSets: Record<string, string>[] = [
          {},
          { authorization: '' },
          { authorization: 'Bearer' },
          { authorization: 'Bearer ' },
          { authorization: `Basic ${Buffer.from(`x:${shared.org.adminKey}`).toString('base64')}` },
          { authorization: shared.org.adminKey },
        ];
        for (const headers of headerSets) {
          const response = await send(world.app, requestOf(route, shared, headers));
          assertError(response, 401, { param: null });
          assert.ok(!JSON.stringify(response.body).includes(shared.org.adminKey));
        }
        assert.deepEqual(await snapshot(world.app, shared), before);
      });

      test(`${label}: an unknown key → 401 invalid_api_key, the key redacted`, async () => {
        const shared = await sharedCheckpoint(world.app, world.store);
        const before = await snapshot(world.app, shared);
        const keys = [mintKey('admin').secret, mintKey('project').secret, `${shared.org.adminKey}x`, 'sk-short'];
        for (const key of keys) {
          const response = await send(world.app, requestOf(route, shared, bearer(key)));
          assertError(response, 401, { param: null, code: 'invalid_api_key' });
          const message: string = response.body.error.message;
          assert.ok(!message.includes(key), message);
          if (key.length >= 11) {
            // At most the first 6 and last 4 characters.
            assert.ok(!message.includes(key.slice(0, 7)), message);
            assert.ok(!message.includes(key.slice(-5)), message);
          }
        }
        const shown = await send(world.app, requestOf(route, shared, bearer(keys[0] as string)));
        assert.ok(shown.body.error.message.includes(`${keys[0]?.slice(0, 6)}`));
        assert.deepEqual(await snapshot(world.app, shared), before);
      });

      test(`${label}: a deleted admin key or project key → 401 invalid_api_key`, async () => {
        const shared = await sharedCheckpoint(world.app, world.store);
        const admin = await addAdminKey(world.app, shared.org.adminKey);
        const project = await serviceAccount(world.app, shared.org.adminKey, shared.owner);
        // Each key is used (and so cached) before it is deleted: the deletion must still win at once.
        const probe = { method: 'GET' as const, url: '/v1/openapi.json' };
        assert.equal((await send(world.app, { ...probe, headers: bearer(admin.secret) })).status, 200);
        assert.equal((await send(world.app, { ...probe, headers: bearer(project.secret) })).status, 200);
        await deleteAdminKey(world.app, shared.org.adminKey, admin.id);
        await deleteProjectKey(world.app, shared.org.adminKey, shared.owner, project.keyId);

        const before = await snapshot(world.app, shared);
        for (const key of [admin.secret, project.secret]) {
          const response = await send(world.app, requestOf(route, shared, bearer(key)));
          assertError(response, 401, { param: null, code: 'invalid_api_key' });
          assert.ok(!response.body.error.message.includes(key));
        }
        assert.deepEqual(await snapshot(world.app, shared), before);
      });

      const projectOutcome = route.auth === 'admin' ? '403' : '200';
      test(`${label}: a valid project key → ${projectOutcome}`, async () => {
        const shared = await sharedCheckpoint(world.app, world.store);
        // The owner's key and the grantee's key alike: neither is an admin.
        const keys = [
          await projectKey(world.app, shared.org.adminKey, shared.owner),
          await projectKey(world.app, shared.org.adminKey, shared.grantee),
        ];
        const before = await snapshot(world.app, shared);
        for (const key of keys) {
          const response = await send(world.app, requestOf(route, shared, bearer(key)));
          if (route.auth === 'admin') assertError(response, 403, { param: null });
          else assert.equal(response.status, 200, JSON.stringify(response.body));
        }
        assert.deepEqual(await snapshot(world.app, shared), before);
      });

      test(`${label}: another organization's admin key → exactly as if the resource did not exist`, async () => {
        const shared = await sharedCheckpoint(world.app, world.store);
        const stranger = await newOrg(world.store);
        await createProject(world.app, stranger.adminKey, 'the stranger’s own');
        const before = await snapshot(world.app, shared);

        const request = requestOf(route, shared, bearer(stranger.adminKey));
        const response = await send(world.app, request);
        if (route.foreign === 'absent') {
          const ghost = ghostIds();
          const absent = await send(world.app, requestOf(route, ghost, bearer(shared.org.adminKey)));
          assert.ok(absent.status >= 400 && absent.status < 500, JSON.stringify(absent.body));
          assert.equal(response.status, absent.status, JSON.stringify(response.body));
          assert.deepEqual(response.body, substitute(absent.body, ghost, shared));
        } else {
          assert.equal(response.status, 200, JSON.stringify(response.body));
        }

        // Nothing of the other organization that the caller did not name itself shows up.
        const sent = `${request.url} ${JSON.stringify(request.payload ?? '')}`;
        const text = JSON.stringify(response.body);
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
        assert.deepEqual(await snapshot(world.app, shared), before);
      });
    }

    test('the health routes need no key (and ignore a bad one)', async () => {
      for (const route of PUBLIC_ROUTES) {
        for (const headers of [{}, bearer('sk-admin-not-a-key-at-all-00000000')]) {
          const response = await send(world.app, { method: route.method, url: route.path, headers });
          assert.equal(response.status, 200, `${route.path}: ${JSON.stringify(response.body)}`);
          assert.deepEqual(response.body, { status: route.status });
        }
      }
    });

    test('an unknown route answers 404 Invalid URL before any key is asked for', async () => {
      const response = await send(world.app, { method: 'GET', url: '/v1/fine_tuning/jobs' });
      assertError(response, 404, { message: 'Invalid URL (GET /v1/fine_tuning/jobs)' });
    });
  });
}
