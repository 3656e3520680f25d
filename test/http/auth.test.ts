import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { mintKey } from '../../src/domain/keys.ts';
import { backends } from '../support/backends.ts';
import {
  addAdminKey,
  assertError,
  deleteAdminKey,
  deleteProjectKey,
  ghostIds,
  send,
  serviceAccount,
  sharedCheckpoint,
  useWorld,
} from '../support/http.ts';
import { assertNoLeak, matrixCells, PLACEHOLDERS, snapshot, substitute } from '../support/isolation.ts';
import { PUBLIC_ROUTES, requestOf, V1_ROUTES } from '../support/routes.ts';
import { bearer, createProject, newOrg, projectKey } from '../support/world.ts';

/**
 * CONTRACT §2: the auth matrix, applied to every /v1 route of `V1_ROUTES`. The key kinds that
 * need a clock of their own or a second organization's project key are in isolation.test.ts.
 */
for (const backend of await backends()) {
  describe(`auth matrix (${backend.name})`, () => {
    const world = useWorld(backend);
    const cell = matrixCells(
      'auth matrix',
      backend.name,
      'cells (route × no key, malformed, unknown, deleted, own project key, other organization’s admin key, own admin key)',
    );

    for (const route of V1_ROUTES) {
      const label = `${route.method} ${route.url(PLACEHOLDERS)}`;

      cell(`${label}: its own organization's admin key succeeds`, async () => {
        const shared = await sharedCheckpoint(world.app, world.store);
        const response = await send(world.app, requestOf(route, shared, bearer(shared.org.adminKey)));
        assert.equal(response.status, 200, JSON.stringify(response.body));
      });

      cell(`${label}: no key, an empty key or another scheme → 401`, async () => {
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

      cell(`${label}: an unknown key → 401 invalid_api_key, the key redacted`, async () => {
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

      cell(`${label}: a deleted admin key or project key → 401 invalid_api_key`, async () => {
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
      cell(`${label}: a valid project key → ${projectOutcome}`, async () => {
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

      cell(`${label}: another organization's admin key → exactly as if the resource did not exist`, async () => {
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
        assertNoLeak(shared, `${request.url} ${JSON.stringify(request.payload ?? '')}`, response.body);
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
