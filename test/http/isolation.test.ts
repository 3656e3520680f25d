import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { backends } from '../support/backends.ts';
import { addAdminKey, assertError, ghostIds, pinnedClock, send, sharedCheckpoint, useWorld } from '../support/http.ts';
import { assertNoLeak, matrixCells, PLACEHOLDERS, snapshot, substitute } from '../support/isolation.ts';
import { requestOf, V1_ROUTES } from '../support/routes.ts';
import { bearer, newOrg, projectKey, testApp } from '../support/world.ts';

/**
 * Issue 10, item 8: the isolation matrix — every route of `V1_ROUTES` × every kind of key — with
 * the kinds test/http/auth.test.ts does not cover: an expired admin key (a pinned clock moved past
 * its expiry) and another organization's project key. With auth.test.ts (no key, malformed keys,
 * unknown keys, deleted admin and project keys, the organization's own project key, another
 * organization's admin key) that is the whole matrix: each answer is exactly the 401, the 403 or
 * the answer for an absent resource, existence included, and nothing of the organization shows.
 */

for (const backend of await backends()) {
  describe(`isolation matrix: expired keys and another organization's project key (${backend.name})`, () => {
    const world = useWorld(backend);
    const clock = pinnedClock(Math.floor(Date.now() / 1000));
    /** An app over the same store whose clock the tests move. */
    let timed: FastifyInstance;
    const cell = matrixCells(
      'isolation matrix',
      backend.name,
      'cells (route × expired admin key, other organization’s project key)',
    );
    before(async () => {
      timed = await testApp(world.store, clock);
    });
    after(async () => {
      await timed?.close();
    });

    for (const route of V1_ROUTES) {
      const label = `${route.method} ${route.url(PLACEHOLDERS)}`;

      cell(`${label}: an expired admin key → 401 invalid_api_key, as an unknown key`, async () => {
        const shared = await sharedCheckpoint(world.app, world.store);
        const expiring = await addAdminKey(timed, shared.org.adminKey, { name: 'short-lived', expires_in_seconds: 60 });
        // Used (and so cached) while valid: expiry must still win the moment it passes.
        assert.equal(
          (await send(timed, { method: 'GET', url: '/v1/openapi.json', headers: bearer(expiring.secret) })).status,
          200,
        );
        clock.now += 61;
        try {
          const before = await snapshot(world.app, shared);
          const response = await send(timed, requestOf(route, shared, bearer(expiring.secret)));
          assertError(response, 401, { param: null, code: 'invalid_api_key' });
          assert.ok(!JSON.stringify(response.body).includes(expiring.secret));
          // Exactly an unknown key's answer, but for the (redacted) key it names.
          const unknown = `${expiring.secret.slice(0, -12)}${'0'.repeat(8)}${expiring.secret.slice(-4)}`;
          const reference = await send(timed, requestOf(route, shared, bearer(unknown)));
          assert.deepEqual(response.body, reference.body);
          assertNoLeak(shared, '', response.body);
          assert.deepEqual(await snapshot(world.app, shared), before);
        } finally {
          clock.now -= 61;
        }
      });

      cell(
        `${label}: another organization's project key → its 403, or its own view, never this organization's`,
        async () => {
          const shared = await sharedCheckpoint(world.app, world.store);
          const stranger = await newOrg(world.store);
          const strangerShared = await sharedCheckpoint(world.app, world.store);
          const foreignKey = await projectKey(
            world.app,
            stranger.adminKey,
            await ownProject(world.app, stranger.adminKey),
          );
          const ownKey = await projectKey(world.app, shared.org.adminKey, shared.grantee);
          const before = await snapshot(world.app, shared);

          const request = requestOf(route, shared, bearer(foreignKey));
          const response = await send(world.app, request);
          if (route.auth === 'admin') {
            // The same 403 as this organization's own project key: the key kind decides, not the ids.
            const own = await send(world.app, requestOf(route, shared, bearer(ownKey)));
            assertError(response, 403, { param: null, code: 'insufficient_permissions' });
            assert.deepEqual(response.body, own.body);
          } else if (route.foreign === 'absent') {
            const ghost = ghostIds();
            const absent = await send(world.app, requestOf(route, ghost, bearer(foreignKey)));
            assert.equal(response.status, absent.status, JSON.stringify(response.body));
            assert.deepEqual(response.body, substitute(absent.body, ghost, shared));
          } else {
            assert.equal(response.status, 200, JSON.stringify(response.body));
          }
          assertNoLeak(shared, `${request.url} ${JSON.stringify(request.payload ?? '')}`, response.body);
          // Nor another organization's fixtures: the stranger's key sees none of a third one either.
          assertNoLeak(strangerShared, `${request.url}`, response.body);
          assert.deepEqual(await snapshot(world.app, shared), before);
        },
      );
    }
  });
}

async function ownProject(app: FastifyInstance, adminKey: string): Promise<string> {
  const response = await send(app, {
    method: 'POST',
    url: '/v1/organization/projects',
    headers: bearer(adminKey),
    payload: { name: 'the stranger’s own' },
  });
  assert.equal(response.status, 200, JSON.stringify(response.body));
  return response.body.id;
}
