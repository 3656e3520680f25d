import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { backends } from '../support/backends.ts';
import {
  assertError,
  assertListEnvelope,
  assertModelNotFound,
  encoded,
  grant,
  listPermissions,
  PERMISSION_ID,
  permissionsUrl,
  pinnedClock,
  send,
  sharedCheckpoint,
  useWorld,
} from '../support/http.ts';
import { bearer, checkpointName, createProject, newOrg, registerCheckpoint, testApp } from '../support/world.ts';

/** CONTRACT §1: create, list and delete checkpoint permissions, the happy paths and their semantics. */
for (const backend of await backends()) {
  describe(`checkpoint permissions (${backend.name})`, () => {
    const world = useWorld(backend);

    test('create answers 200 with the exact list envelope and permission objects', async () => {
      const clock = pinnedClock(1_700_000_123);
      const app = await testApp(world.store, clock);
      try {
        const org = await newOrg(world.store);
        const owner = await createProject(app, org.adminKey, 'owner');
        const [a, b] = [await createProject(app, org.adminKey, 'a'), await createProject(app, org.adminKey, 'b')];
        const checkpoint = checkpointName();
        await registerCheckpoint(app, org.adminKey, checkpoint, owner);

        const response = await send(app, {
          method: 'POST',
          url: permissionsUrl(checkpoint),
          headers: bearer(org.adminKey),
          payload: { project_ids: [a, b] },
        });
        assert.equal(response.status, 200);
        assert.match(String(response.headers['content-type']), /^application\/json/);
        const [first, second] = response.body.data;
        assert.match(first.id, PERMISSION_ID);
        assert.match(second.id, PERMISSION_ID);
        assert.notEqual(first.id, second.id);
        assert.deepEqual(response.body, {
          object: 'list',
          data: [
            { object: 'checkpoint.permission', id: first.id, created_at: 1_700_000_123, project_id: a },
            { object: 'checkpoint.permission', id: second.id, created_at: 1_700_000_123, project_id: b },
          ],
          first_id: first.id,
          last_id: second.id,
          has_more: false,
        });
        // Key order as OpenAI sends it.
        assert.deepEqual(Object.keys(first), ['object', 'id', 'created_at', 'project_id']);
      } finally {
        await app.close();
      }
    });

    test('list answers the exact envelope, and an empty list has null first_id/last_id', async () => {
      const { app, store } = world;
      const org = await newOrg(store);
      const owner = await createProject(app, org.adminKey);
      const checkpoint = checkpointName();
      await registerCheckpoint(app, org.adminKey, checkpoint, owner);
      assert.deepEqual(await listPermissions(app, org.adminKey, checkpoint), {
        object: 'list',
        data: [],
        first_id: null,
        last_id: null,
        has_more: false,
      });

      const created = await grant(app, org.adminKey, checkpoint, [owner]);
      const listed = await listPermissions(app, org.adminKey, checkpoint);
      assert.deepEqual(listed, { ...created, has_more: false });
    });

    test('repeats inside project_ids count once, and data follows request order', async () => {
      const { app, store } = world;
      const org = await newOrg(store);
      const [owner, a, b, c] = await Promise.all(['o', 'a', 'b', 'c'].map((n) => createProject(app, org.adminKey, n)));
      const checkpoint = checkpointName();
      await registerCheckpoint(app, org.adminKey, checkpoint, owner as string);

      const body = await grant(app, org.adminKey, checkpoint, [c, a, c, b, a, a]);
      assert.deepEqual(
        body.data.map((p: { project_id: string }) => p.project_id),
        [c, a, b],
      );
      const listed = await listPermissions(app, org.adminKey, checkpoint, { order: 'ascending' });
      assert.equal(listed.data.length, 3);
      assert.deepEqual(listed.data, body.data);
    });

    test('re-granting returns the existing permission: same id, same created_at, no error', async () => {
      const clock = pinnedClock(1_700_000_000);
      const app = await testApp(world.store, clock);
      try {
        const org = await newOrg(world.store);
        const [owner, a, b] = await Promise.all(['o', 'a', 'b'].map((n) => createProject(app, org.adminKey, n)));
        const checkpoint = checkpointName(':ckpt-step-88');
        await registerCheckpoint(app, org.adminKey, checkpoint, owner as string);
        const first = (await grant(app, org.adminKey, checkpoint, [a])).data[0];
        assert.equal(first.created_at, 1_700_000_000);

        clock.now = 1_700_000_500;
        const again = await grant(app, org.adminKey, checkpoint, [a]);
        assert.deepEqual(again.data, [first]);

        clock.now = 1_700_001_000;
        const mixed = await grant(app, org.adminKey, checkpoint, [b, a]);
        assert.equal(mixed.data.length, 2);
        assert.equal(mixed.data[0].project_id, b);
        assert.equal(mixed.data[0].created_at, 1_700_001_000);
        assert.notEqual(mixed.data[0].id, first.id);
        assert.deepEqual(mixed.data[1], first);

        const listed = await listPermissions(app, org.adminKey, checkpoint, { order: 'ascending' });
        assert.deepEqual(listed.data, [first, mixed.data[0]]);
      } finally {
        await app.close();
      }
    });

    test('delete answers {object, id, deleted:true}; the second delete is 404', async () => {
      const { app, store } = world;
      const shared = await sharedCheckpoint(app, store);
      const url = `${permissionsUrl(shared.checkpoint)}/${shared.permission}`;
      const headers = bearer(shared.org.adminKey);

      const deleted = await send(app, { method: 'DELETE', url, headers });
      assert.equal(deleted.status, 200);
      assert.deepEqual(deleted.body, { object: 'checkpoint.permission', id: shared.permission, deleted: true });
      assert.deepEqual(Object.keys(deleted.body), ['object', 'id', 'deleted']);
      assert.deepEqual((await listPermissions(app, shared.org.adminKey, shared.checkpoint)).data, []);

      assertError(await send(app, { method: 'DELETE', url, headers }), 404, { code: 'not_found' });
      assertError(
        await send(app, { method: 'DELETE', url: `${permissionsUrl(shared.checkpoint)}/cp_unknown`, headers }),
        404,
        { code: 'not_found' },
      );
    });

    test('a permission cannot be deleted through another checkpoint’s path', async () => {
      const { app, store } = world;
      const shared = await sharedCheckpoint(app, store);
      const other = checkpointName();
      await registerCheckpoint(app, shared.org.adminKey, other, shared.owner);
      await grant(app, shared.org.adminKey, other, [shared.grantee]);

      const response = await send(app, {
        method: 'DELETE',
        url: `${permissionsUrl(other)}/${shared.permission}`,
        headers: bearer(shared.org.adminKey),
      });
      assertError(response, 404, { code: 'not_found' });
      const listed = await listPermissions(app, shared.org.adminKey, shared.checkpoint);
      assert.deepEqual(
        listed.data.map((p: { id: string }) => p.id),
        [shared.permission],
      );
      assert.equal((await listPermissions(app, shared.org.adminKey, other)).data.length, 1);
    });

    test('colon-bearing checkpoint ids mean the same checkpoint raw and %3A-encoded', async () => {
      const { app, store } = world;
      const org = await newOrg(store);
      const [owner, a, b] = await Promise.all(['o', 'a', 'b'].map((n) => createProject(app, org.adminKey, n)));
      const checkpoint = checkpointName(':ckpt-step-88');
      await registerCheckpoint(app, org.adminKey, checkpoint, owner as string);

      const viaEncoded = await grant(app, org.adminKey, encoded(checkpoint), [a]);
      const viaRaw = await grant(app, org.adminKey, checkpoint, [a, b]);
      assert.deepEqual(viaRaw.data[0], viaEncoded.data[0]);
      const lower = checkpoint.replaceAll(':', '%3a');
      assert.deepEqual(
        await listPermissions(app, org.adminKey, lower),
        await listPermissions(app, org.adminKey, checkpoint),
      );

      const deleted = await send(app, {
        method: 'DELETE',
        url: `${permissionsUrl(encoded(checkpoint))}/${viaRaw.data[1].id}`,
        headers: bearer(org.adminKey),
      });
      assert.equal(deleted.status, 200);
      assert.deepEqual((await listPermissions(app, org.adminKey, checkpoint)).data, viaEncoded.data);

      const unknown = `${checkpoint}x`;
      assertModelNotFound(
        await send(app, { method: 'GET', url: permissionsUrl(encoded(unknown)), headers: bearer(org.adminKey) }),
        unknown,
      );
    });

    test('deleting a checkpoint removes its permissions', async () => {
      const { app, store } = world;
      const shared = await sharedCheckpoint(app, store);
      const key = shared.org.adminKey;
      const deleted = await send(app, {
        method: 'DELETE',
        url: `/v1/fine_tuning/checkpoints/${shared.checkpoint}`,
        headers: bearer(key),
      });
      assert.equal(deleted.status, 200);

      assertModelNotFound(
        await send(app, { method: 'GET', url: permissionsUrl(shared.checkpoint), headers: bearer(key) }),
        shared.checkpoint,
      );
      // Registered again under the same name, it starts with no permissions at all.
      await registerCheckpoint(app, key, shared.checkpoint, shared.owner);
      assertListEnvelope(await listPermissions(app, key, shared.checkpoint));
      assert.deepEqual((await listPermissions(app, key, shared.checkpoint)).data, []);
      assertError(
        await send(app, {
          method: 'DELETE',
          url: `${permissionsUrl(shared.checkpoint)}/${shared.permission}`,
          headers: bearer(key),
        }),
        404,
        { code: 'not_found' },
      );
      const fresh = await grant(app, key, shared.checkpoint, [shared.grantee]);
      assert.notEqual(fresh.data[0].id, shared.permission);
    });

    test('an unknown checkpoint answers 404 model_not_found on create, list and delete', async () => {
      const { app, store } = world;
      const org = await newOrg(store);
      const project = await createProject(app, org.adminKey);
      const checkpoint = checkpointName();
      const headers = bearer(org.adminKey);
      const url = permissionsUrl(checkpoint);
      assertModelNotFound(
        await send(app, { method: 'POST', url, headers, payload: { project_ids: [project] } }),
        checkpoint,
      );
      assertModelNotFound(await send(app, { method: 'GET', url, headers }), checkpoint);
      assertModelNotFound(await send(app, { method: 'GET', url: `${url}?after=cp_x&limit=5`, headers }), checkpoint);
      assertModelNotFound(await send(app, { method: 'DELETE', url: `${url}/cp_x`, headers }), checkpoint);
    });

    test('a revoked permission no longer lists, and others stay untouched', async () => {
      const { app, store } = world;
      const org = await newOrg(store);
      const [owner, a, b, c] = await Promise.all(['o', 'a', 'b', 'c'].map((n) => createProject(app, org.adminKey, n)));
      const checkpoint = checkpointName();
      await registerCheckpoint(app, org.adminKey, checkpoint, owner as string);
      const created = (await grant(app, org.adminKey, checkpoint, [a, b, c])).data;
      const response = await send(app, {
        method: 'DELETE',
        url: `${permissionsUrl(checkpoint)}/${created[1].id}`,
        headers: bearer(org.adminKey),
      });
      assert.equal(response.status, 200);
      const listed = await listPermissions(app, org.adminKey, checkpoint, { order: 'ascending' });
      assert.deepEqual(listed.data, [created[0], created[2]]);
    });
  });
}
