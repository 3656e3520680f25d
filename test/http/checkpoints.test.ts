import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { backends } from '../support/backends.ts';
import {
  archive,
  assertError,
  assertListEnvelope,
  assertModelNotFound,
  encoded,
  pinnedClock,
  send,
  useWorld,
} from '../support/http.ts';
import { bearer, checkpointName, createProject, newOrg, registerCheckpoint, testApp } from '../support/world.ts';

const CHECKPOINTS = '/v1/fine_tuning/checkpoints';

const register = (app: FastifyInstance, key: string, payload: unknown) =>
  send(app, { method: 'POST', url: CHECKPOINTS, headers: bearer(key), payload: payload as object });

async function listCheckpoints(app: FastifyInstance, key: string, query = '') {
  const response = await send(app, { method: 'GET', url: `${CHECKPOINTS}${query}`, headers: bearer(key) });
  assert.equal(response.status, 200, JSON.stringify(response.body));
  assertListEnvelope(response.body);
  return response.body;
}

const names = (body: { data: { id: string }[] }) => body.data.map((c) => c.id);

/** CONTRACT §6: the checkpoint registry extension. */
for (const backend of await backends()) {
  describe(`checkpoint registry (${backend.name})`, () => {
    const world = useWorld(backend);

    test('register answers the exact checkpoint object; again with the same owner returns it unchanged', async () => {
      const clock = pinnedClock(1_700_000_200);
      const app = await testApp(world.store, clock);
      try {
        const org = await newOrg(world.store);
        const owner = await createProject(app, org.adminKey);
        const name = checkpointName(':ckpt-step-88');
        const first = await register(app, org.adminKey, { fine_tuned_model_checkpoint: name, project_id: owner });
        assert.equal(first.status, 200);
        const expected = { object: 'fine_tuning.checkpoint', id: name, project_id: owner, created_at: 1_700_000_200 };
        assert.deepEqual(first.body, expected);

        clock.now += 100;
        const again = await register(app, org.adminKey, { fine_tuned_model_checkpoint: name, project_id: owner });
        assert.equal(again.status, 200);
        assert.deepEqual(again.body, expected);

        const retrieved = await send(app, {
          method: 'GET',
          url: `${CHECKPOINTS}/${name}`,
          headers: bearer(org.adminKey),
        });
        assert.equal(retrieved.status, 200);
        assert.deepEqual(retrieved.body, expected);
        const viaEncoded = await send(app, {
          method: 'GET',
          url: `${CHECKPOINTS}/${encoded(name)}`,
          headers: bearer(org.adminKey),
        });
        assert.deepEqual(viaEncoded.body, expected);
        assert.deepEqual(names(await listCheckpoints(app, org.adminKey)), [name]);
      } finally {
        await app.close();
      }
    });

    test('registering again stays idempotent after the owner is archived (nothing new is owned)', async () => {
      const { app, store } = world;
      const org = await newOrg(store);
      const owner = await createProject(app, org.adminKey);
      const name = checkpointName();
      const first = await register(app, org.adminKey, { fine_tuned_model_checkpoint: name, project_id: owner });
      assert.equal(first.status, 200);
      await archive(app, org.adminKey, owner);
      const again = await register(app, org.adminKey, { fine_tuned_model_checkpoint: name, project_id: owner });
      assert.equal(again.status, 200, JSON.stringify(again.body));
      assert.deepEqual(again.body, first.body);
      // A new name for the archived project is still refused.
      const fresh = await register(app, org.adminKey, { fine_tuned_model_checkpoint: `${name}b`, project_id: owner });
      assertError(fresh, 400, { param: 'project_id', code: 'project_archived' });
      assert.deepEqual(names(await listCheckpoints(app, org.adminKey)), [name]);
    });

    test('another organization registers the same name as if it did not exist; each sees only its own', async () => {
      const { app, store } = world;
      const [a, b] = [await newOrg(store), await newOrg(store)];
      const [ownerA, ownerB] = [await createProject(app, a.adminKey), await createProject(app, b.adminKey)];
      const name = checkpointName(':ckpt-step-88');
      await registerCheckpoint(app, a.adminKey, name, ownerA);
      const response = await register(app, b.adminKey, { fine_tuned_model_checkpoint: name, project_id: ownerB });
      assert.equal(response.status, 200, JSON.stringify(response.body));
      assert.equal(response.body.project_id, ownerB);

      const permissions = `${CHECKPOINTS}/${name}/permissions`;
      const granted = await send(app, {
        method: 'POST',
        url: permissions,
        headers: bearer(b.adminKey),
        payload: { project_ids: [ownerB] },
      });
      assert.equal(granted.status, 200);
      const listA = await send(app, { method: 'GET', url: permissions, headers: bearer(a.adminKey) });
      assert.deepEqual(listA.body.data, []);
      const gone = await send(app, { method: 'DELETE', url: `${CHECKPOINTS}/${name}`, headers: bearer(a.adminKey) });
      assert.equal(gone.status, 200);
      const listB = await send(app, { method: 'GET', url: permissions, headers: bearer(b.adminKey) });
      assert.deepEqual(listB.body.data, granted.body.data);
      assert.deepEqual(
        (await listCheckpoints(app, b.adminKey)).data.map((c: { project_id: string }) => c.project_id),
        [ownerB],
      );
    });

    test('registering a name owned by another project answers 400 and keeps the owner', async () => {
      const { app, store } = world;
      const org = await newOrg(store);
      const [owner, other] = [await createProject(app, org.adminKey), await createProject(app, org.adminKey)];
      const name = checkpointName();
      await registerCheckpoint(app, org.adminKey, name, owner);
      const response = await register(app, org.adminKey, { fine_tuned_model_checkpoint: name, project_id: other });
      assertError(response, 400, { param: 'fine_tuned_model_checkpoint', code: 'checkpoint_exists' });
      const listed = await listCheckpoints(app, org.adminKey);
      assert.deepEqual(
        listed.data.map((c: { project_id: string }) => c.project_id),
        [owner],
      );
    });

    test('bad register bodies answer 400 naming the field, and register nothing', async () => {
      const { app, store } = world;
      const org = await newOrg(store);
      const owner = await createProject(app, org.adminKey);
      const archived = await createProject(app, org.adminKey, 'archived');
      await archive(app, org.adminKey, archived);
      const foreign = await createProject(app, (await newOrg(store)).adminKey, 'foreign');
      const name = checkpointName();

      const cases: [unknown, string | null, string?][] = [
        [{ project_id: owner }, 'fine_tuned_model_checkpoint', 'missing_required_parameter'],
        [{ fine_tuned_model_checkpoint: name }, 'project_id', 'missing_required_parameter'],
        [{ fine_tuned_model_checkpoint: '', project_id: owner }, 'fine_tuned_model_checkpoint'],
        [{ fine_tuned_model_checkpoint: 'a'.repeat(257), project_id: owner }, 'fine_tuned_model_checkpoint'],
        [{ fine_tuned_model_checkpoint: 'ft:a/b', project_id: owner }, 'fine_tuned_model_checkpoint'],
        [{ fine_tuned_model_checkpoint: 'ft:a b', project_id: owner }, 'fine_tuned_model_checkpoint'],
        [{ fine_tuned_model_checkpoint: 'ft:a%3Ab', project_id: owner }, 'fine_tuned_model_checkpoint'],
        [{ fine_tuned_model_checkpoint: 'ft:a?b', project_id: owner }, 'fine_tuned_model_checkpoint'],
        [{ fine_tuned_model_checkpoint: 42, project_id: owner }, 'fine_tuned_model_checkpoint'],
        [{ fine_tuned_model_checkpoint: name, project_id: 'proj_unknown' }, 'project_id', 'project_not_found'],
        [{ fine_tuned_model_checkpoint: name, project_id: archived }, 'project_id', 'project_archived'],
        [{ fine_tuned_model_checkpoint: name, project_id: foreign }, 'project_id', 'project_not_found'],
        [{ fine_tuned_model_checkpoint: name, project_id: owner, suffix: 'x' }, 'suffix', 'unknown_parameter'],
        [[name, owner], null],
        ['text', null],
      ];
      for (const [payload, param, code] of cases) {
        assertError(await register(app, org.adminKey, payload), 400, { param, ...(code ? { code } : {}) });
      }
      const headers = { ...bearer(org.adminKey), 'content-type': 'application/json' };
      assertError(await send(app, { method: 'POST', url: CHECKPOINTS, headers, payload: '{"x' }), 400, {
        code: 'invalid_json',
      });
      assert.deepEqual((await listCheckpoints(app, org.adminKey)).data, []);
    });

    test('list is oldest first, pages with after, and filters by project_id', async () => {
      const { app, store } = world;
      const org = await newOrg(store);
      const [a, b] = [await createProject(app, org.adminKey), await createProject(app, org.adminKey)];
      const created: string[] = [];
      for (let i = 0; i < 5; i++) {
        const name = checkpointName();
        await registerCheckpoint(app, org.adminKey, name, i % 2 === 0 ? a : b);
        created.push(name);
      }
      assert.deepEqual(names(await listCheckpoints(app, org.adminKey)), created);

      const page1 = await listCheckpoints(app, org.adminKey, '?limit=2');
      assert.deepEqual([names(page1), page1.has_more], [created.slice(0, 2), true]);
      const page2 = await listCheckpoints(app, org.adminKey, `?limit=2&after=${page1.last_id}`);
      assert.deepEqual([names(page2), page2.has_more], [created.slice(2, 4), true]);
      const page3 = await listCheckpoints(app, org.adminKey, `?limit=2&after=${encoded(page2.last_id)}`);
      assert.deepEqual([names(page3), page3.has_more], [created.slice(4), false]);
      const exact = await listCheckpoints(app, org.adminKey, '?limit=5');
      assert.equal(exact.has_more, false);

      const ofB = await listCheckpoints(app, org.adminKey, `?project_id=${b}`);
      assert.deepEqual(names(ofB), [created[1], created[3]]);
      const other = await createProject(app, org.adminKey);
      assert.deepEqual((await listCheckpoints(app, org.adminKey, `?project_id=${other}`)).data, []);

      const bad = async (query: string) =>
        send(app, { method: 'GET', url: `${CHECKPOINTS}${query}`, headers: bearer(org.adminKey) });
      assertError(await bad('?after=ft:unknown'), 400, { param: 'after' });
      assertError(await bad('?limit=0'), 400, { param: 'limit' });
      assertError(await bad('?limit=101'), 400, { param: 'limit' });
      assertError(await bad('?limit=abc'), 400, { param: 'limit' });
    });

    test('delete answers the delete shape, then 404; retrieve of an unknown checkpoint is 404', async () => {
      const { app, store } = world;
      const org = await newOrg(store);
      const owner = await createProject(app, org.adminKey);
      const name = checkpointName(':ckpt-step-88');
      const kept = checkpointName();
      await registerCheckpoint(app, org.adminKey, name, owner);
      await registerCheckpoint(app, org.adminKey, kept, owner);
      const url = `${CHECKPOINTS}/${encoded(name)}`;
      const headers = bearer(org.adminKey);

      const deleted = await send(app, { method: 'DELETE', url, headers });
      assert.equal(deleted.status, 200);
      assert.deepEqual(deleted.body, { object: 'fine_tuning.checkpoint', id: name, deleted: true });
      assertModelNotFound(await send(app, { method: 'DELETE', url, headers }), name);
      assertModelNotFound(await send(app, { method: 'GET', url, headers }), name);
      assert.deepEqual(names(await listCheckpoints(app, org.adminKey)), [kept]);

      const long = 'c'.repeat(257);
      for (const method of ['GET', 'DELETE'] as const) {
        assertError(await send(app, { method, url: `${CHECKPOINTS}/${long}`, headers }), 400, {
          param: 'fine_tuned_model_checkpoint',
        });
      }
    });
  });
}
