import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { backends } from '../support/backends.ts';
import { assertError, grant, send, useWorld } from '../support/http.ts';
import {
  adminGet,
  deleteModelPermissions,
  modelIds,
  modelPermissionsUrl,
  setModelPermissions,
} from '../support/models.ts';
import { bearer, checkpointName, createProject, newOrg, projectKey, registerCheckpoint } from '../support/world.ts';

const NONE = { object: 'project.model_permissions', mode: 'deny_list', model_ids: [] };
const DELETED = { object: 'project.model_permissions.deleted', deleted: true };

/** CONTRACT §5/§5a: a project's model permissions (OpenAI's allow/deny list). */
for (const backend of await backends()) {
  describe(`project model permissions (${backend.name})`, () => {
    const world = useWorld(backend);

    test('none set reads as an empty deny list; update replaces the whole list; delete removes it', async () => {
      const { app, store } = world;
      const org = await newOrg(store);
      const project = await createProject(app, org.adminKey);
      const url = modelPermissionsUrl(project);
      assert.deepEqual(await adminGet(app, org.adminKey, url), NONE);
      // Deleting none is not an error.
      assert.deepEqual(await deleteModelPermissions(app, org.adminKey, project), DELETED);

      const allow = await setModelPermissions(app, org.adminKey, project, 'allow_list', ['b', 'a', 'b', 'ft:x:y']);
      const expected = { object: 'project.model_permissions', mode: 'allow_list', model_ids: ['b', 'a', 'ft:x:y'] };
      assert.deepEqual(allow, expected, 'repeats count once, in first-seen order');
      assert.deepEqual(await adminGet(app, org.adminKey, url), expected);

      const deny = await setModelPermissions(app, org.adminKey, project, 'deny_list', ['c']);
      assert.deepEqual(deny, { object: 'project.model_permissions', mode: 'deny_list', model_ids: ['c'] });
      assert.deepEqual(await adminGet(app, org.adminKey, url), deny, 'the whole rule was replaced');
      const emptyAllow = await setModelPermissions(app, org.adminKey, project, 'allow_list', []);
      assert.deepEqual(emptyAllow, { object: 'project.model_permissions', mode: 'allow_list', model_ids: [] });
      assert.deepEqual(await adminGet(app, org.adminKey, url), emptyAllow);

      assert.deepEqual(await deleteModelPermissions(app, org.adminKey, project), DELETED);
      assert.deepEqual(await adminGet(app, org.adminKey, url), NONE);
      assert.deepEqual(await deleteModelPermissions(app, org.adminKey, project), DELETED);

      // Each project has its own.
      const other = await createProject(app, org.adminKey);
      await setModelPermissions(app, org.adminKey, other, 'deny_list', ['z']);
      assert.deepEqual(await adminGet(app, org.adminKey, url), NONE);
    });

    test('ids may name models that do not exist; up to 1000 ids of up to 256 characters', async () => {
      const { app, store } = world;
      const org = await newOrg(store);
      const project = await createProject(app, org.adminKey);
      const many = Array.from({ length: 1000 }, (_, i) => `model-${i}`);
      assert.deepEqual((await setModelPermissions(app, org.adminKey, project, 'deny_list', many)).model_ids, many);
      assert.deepEqual((await adminGet(app, org.adminKey, modelPermissionsUrl(project))).model_ids, many);
      const long = ['x'.repeat(256), 'ft:gpt-4o-mini-2024-07-18:acme:never-registered:abc', 'meta-llama/Llama-3'];
      assert.deepEqual((await setModelPermissions(app, org.adminKey, project, 'allow_list', long)).model_ids, long);
    });

    test('bad bodies answer 400 naming the field, and change nothing', async () => {
      const { app, store } = world;
      const org = await newOrg(store);
      const project = await createProject(app, org.adminKey);
      await setModelPermissions(app, org.adminKey, project, 'deny_list', ['kept']);
      const url = modelPermissionsUrl(project);
      const before = await adminGet(app, org.adminKey, url);
      const headers = { ...bearer(org.adminKey), 'content-type': 'application/json' };
      const bodies: [unknown, string | null, string?][] = [
        [{}, 'mode', 'missing_required_parameter'],
        [{ model_ids: [] }, 'mode', 'missing_required_parameter'],
        [{ mode: 'allow_list' }, 'model_ids', 'missing_required_parameter'],
        [{ mode: 'block_list', model_ids: [] }, 'mode'],
        [{ mode: null, model_ids: [] }, 'mode'],
        [{ mode: 'allow_list', model_ids: 'gpt-4o' }, 'model_ids'],
        [{ mode: 'allow_list', model_ids: [''] }, 'model_ids'],
        [{ mode: 'allow_list', model_ids: [7] }, 'model_ids'],
        [{ mode: 'allow_list', model_ids: ['x'.repeat(257)] }, 'model_ids'],
        [{ mode: 'allow_list', model_ids: Array.from({ length: 1001 }, (_, i) => `m${i}`) }, 'model_ids'],
        [{ mode: 'allow_list', model_ids: [], project_id: project }, 'project_id', 'unknown_parameter'],
        [[], null],
        [null, null],
      ];
      for (const [payload, param, code] of bodies) {
        const response = await send(app, { method: 'POST', url, headers, payload: JSON.stringify(payload) });
        assertError(response, 400, { param, ...(code ? { code } : {}) });
      }
      assert.deepEqual(await adminGet(app, org.adminKey, url), before);
    });

    test('unknown projects and another organization’s answer 404 on retrieve, update and delete', async () => {
      const { app, store } = world;
      const org = await newOrg(store);
      const stranger = await newOrg(store);
      const foreign = await createProject(app, stranger.adminKey);
      await setModelPermissions(app, stranger.adminKey, foreign, 'allow_list', ['theirs']);
      const headers = bearer(org.adminKey);
      for (const project of ['proj_unknown', foreign]) {
        const url = modelPermissionsUrl(project);
        for (const request of [
          { method: 'GET' as const, url },
          { method: 'POST' as const, url, payload: { mode: 'deny_list', model_ids: [] } },
          { method: 'DELETE' as const, url },
        ]) {
          const response = await send(app, { ...request, headers });
          assertError(response, 404, { param: null });
          assert.ok(response.body.error.message.includes(project));
        }
      }
      assert.deepEqual((await adminGet(app, stranger.adminKey, modelPermissionsUrl(foreign))).model_ids, ['theirs']);
    });

    test('they filter what the project’s keys may use, from the next request on', async () => {
      const { app, store } = world;
      const org = await newOrg(store);
      const [owner, grantee] = [await createProject(app, org.adminKey), await createProject(app, org.adminKey)];
      const [mine, shared] = [checkpointName(), checkpointName()];
      await registerCheckpoint(app, org.adminKey, mine, grantee);
      await registerCheckpoint(app, org.adminKey, shared, owner);
      await grant(app, org.adminKey, shared, [grantee]);
      const key = await projectKey(app, org.adminKey, grantee);
      assert.deepEqual(await modelIds(app, key), [mine, shared]);

      await setModelPermissions(app, org.adminKey, grantee, 'deny_list', [shared, 'not-a-model']);
      assert.deepEqual(await modelIds(app, key), [mine], 'a deny list removes even a granted model');
      await setModelPermissions(app, org.adminKey, grantee, 'allow_list', [shared, 'not-a-model']);
      assert.deepEqual(await modelIds(app, key), [shared], 'an allow list keeps only its ids, adding none');
      await setModelPermissions(app, org.adminKey, grantee, 'allow_list', []);
      assert.deepEqual(await modelIds(app, key), []);
      await deleteModelPermissions(app, org.adminKey, grantee);
      assert.deepEqual(await modelIds(app, key), [mine, shared]);
    });
  });
}
