import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { backends } from '../support/backends.ts';
import {
  archive,
  assertError,
  assertModelNotFound,
  deleteProjectKey,
  encoded,
  grant,
  permissionsUrl,
  pinnedClock,
  send,
  serviceAccount,
  useWorld,
} from '../support/http.ts';
import {
  adminGet,
  listModels,
  modelIds,
  modelPath,
  retrieveModel,
  setModelPermissions,
  withApp,
} from '../support/models.ts';
import { bearer, checkpointName, createProject, newOrg, projectKey, registerCheckpoint } from '../support/world.ts';

const BASE = ['gpt-4o-mini', 'meta-llama/Llama-3.1-8B'];
const MODEL_FIELDS = ['created', 'id', 'object', 'owned_by'];

/** CONTRACT §5/§5a: `/v1/models` answers exactly what the calling key may use. */
for (const backend of await backends()) {
  describe(`models (${backend.name})`, () => {
    const world = useWorld(backend);

    test('a project key lists base models, then its own checkpoints, then those shared with it', async () => {
      const clock = pinnedClock(1_702_000_000);
      await withApp(world.store, { clock, baseModels: BASE }, async (app) => {
        const org = await newOrg(world.store, clock);
        const [owner, grantee, bystander] = [
          await createProject(app, org.adminKey, 'owner'),
          await createProject(app, org.adminKey, 'grantee'),
          await createProject(app, org.adminKey, 'bystander'),
        ];
        const [sharedLate, own, sharedEarly, unshared] = [
          checkpointName(),
          checkpointName(),
          checkpointName(),
          checkpointName(),
        ];
        // Registration order decides, not grant order.
        clock.now += 10;
        await registerCheckpoint(app, org.adminKey, sharedEarly, owner);
        clock.now += 10;
        await registerCheckpoint(app, org.adminKey, own, grantee);
        clock.now += 10;
        await registerCheckpoint(app, org.adminKey, sharedLate, owner);
        await registerCheckpoint(app, org.adminKey, unshared, owner);
        clock.now += 10;
        await grant(app, org.adminKey, sharedLate, [grantee]);
        await grant(app, org.adminKey, sharedEarly, [grantee]);

        const key = await projectKey(app, org.adminKey, grantee);
        const models = await listModels(app, key);
        assert.deepEqual(models, [
          { id: 'gpt-4o-mini', object: 'model', created: 1_702_000_000, owned_by: 'system' },
          { id: 'meta-llama/Llama-3.1-8B', object: 'model', created: 1_702_000_000, owned_by: 'system' },
          { id: own, object: 'model', created: 1_702_000_020, owned_by: org.orgId },
          { id: sharedEarly, object: 'model', created: 1_702_000_010, owned_by: org.orgId },
          { id: sharedLate, object: 'model', created: 1_702_000_030, owned_by: org.orgId },
        ]);
        for (const model of models) {
          assert.deepEqual(Object.keys(model).sort(), MODEL_FIELDS);
          const one = await retrieveModel(app, key, model.id);
          assert.equal(one.status, 200, JSON.stringify(one.body));
          assert.deepEqual(one.body, model);
        }
        // Colons may arrive percent-encoded; a slash must (it is one path segment).
        assert.deepEqual(
          (await send(app, { method: 'GET', url: `/v1/models/${encoded(own)}`, headers: bearer(key) })).body,
          models[2],
        );
        assertError(
          await send(app, { method: 'GET', url: '/v1/models/meta-llama/Llama-3.1-8B', headers: bearer(key) }),
          404,
          {
            code: 'unknown_url',
          },
        );

        const bystanderKey = await projectKey(app, org.adminKey, bystander);
        assert.deepEqual(await modelIds(app, bystanderKey), BASE);
        const ownerKey = await projectKey(app, org.adminKey, owner);
        assert.deepEqual(await modelIds(app, ownerKey), [...BASE, sharedEarly, sharedLate, unshared]);
      });
    });

    test('anything else answers 404 model_not_found, unknown and not allowed alike', async () => {
      await withApp(world.store, { baseModels: BASE }, async (app) => {
        const org = await newOrg(world.store);
        const [owner, grantee] = [await createProject(app, org.adminKey), await createProject(app, org.adminKey)];
        const unshared = checkpointName();
        await registerCheckpoint(app, org.adminKey, unshared, owner);
        const stranger = await newOrg(world.store);
        const strangerProject = await createProject(app, stranger.adminKey);
        const theirs = checkpointName();
        await registerCheckpoint(app, stranger.adminKey, theirs, strangerProject);
        await grant(app, stranger.adminKey, theirs, [strangerProject]);

        const key = await projectKey(app, org.adminKey, grantee);
        for (const model of [unshared, theirs, 'gpt-4o', 'ft:gpt-4o-mini-2024-07-18:acme:nothing:abc', 'GPT-4O-MINI']) {
          assertModelNotFound(await retrieveModel(app, key, model), model);
          assertModelNotFound(
            await retrieveModel(app, org.adminKey, model === unshared ? 'x' : model),
            model === unshared ? 'x' : model,
          );
        }
        assertError(await retrieveModel(app, key, 'x'.repeat(257)), 400, { param: 'model' });
        // The other organization's admin key sees its checkpoint, not ours.
        assertModelNotFound(await retrieveModel(app, stranger.adminKey, unshared), unshared);
        assert.equal((await retrieveModel(app, stranger.adminKey, theirs)).status, 200);
      });
    });

    test('model permissions filter the set: a deny list removes (even owned, granted, base), an allow list keeps', async () => {
      await withApp(world.store, { baseModels: BASE }, async (app) => {
        const org = await newOrg(world.store);
        const [owner, grantee] = [await createProject(app, org.adminKey), await createProject(app, org.adminKey)];
        const [own, shared, unshared] = [checkpointName(), checkpointName(), checkpointName()];
        await registerCheckpoint(app, org.adminKey, own, grantee);
        await registerCheckpoint(app, org.adminKey, shared, owner);
        await registerCheckpoint(app, org.adminKey, unshared, owner);
        await grant(app, org.adminKey, shared, [grantee]);
        const key = await projectKey(app, org.adminKey, grantee);
        const everything = [...BASE, own, shared];
        assert.deepEqual(await modelIds(app, key), everything);

        for (const denied of everything) {
          await setModelPermissions(app, org.adminKey, grantee, 'deny_list', [denied, unshared]);
          assert.deepEqual(
            await modelIds(app, key),
            everything.filter((m) => m !== denied),
          );
          assertModelNotFound(await retrieveModel(app, key, denied), denied);
          assertModelNotFound(await retrieveModel(app, key, unshared), unshared);
        }
        for (const kept of everything) {
          // An allow list naming a model the project may not use otherwise adds nothing.
          await setModelPermissions(app, org.adminKey, grantee, 'allow_list', [kept, unshared, 'nonexistent']);
          assert.deepEqual(await modelIds(app, key), [kept]);
          assert.equal((await retrieveModel(app, key, kept)).status, 200);
          assertModelNotFound(await retrieveModel(app, key, unshared), unshared);
          for (const other of everything.filter((m) => m !== kept)) {
            assertModelNotFound(await retrieveModel(app, key, other), other);
          }
        }
      });
    });

    test('an admin key sees every checkpoint of its organization and the base models', async () => {
      const clock = pinnedClock(1_702_100_000);
      await withApp(world.store, { clock, baseModels: BASE }, async (app) => {
        const org = await newOrg(world.store, clock);
        const [a, b] = [await createProject(app, org.adminKey), await createProject(app, org.adminKey)];
        const [first, second] = [checkpointName(), checkpointName()];
        clock.now += 5;
        await registerCheckpoint(app, org.adminKey, first, b);
        clock.now += 5;
        await registerCheckpoint(app, org.adminKey, second, a);
        await archive(app, org.adminKey, a);
        const stranger = await newOrg(world.store, clock);
        const theirs = checkpointName();
        await registerCheckpoint(app, stranger.adminKey, theirs, await createProject(app, stranger.adminKey));

        const models = await listModels(app, org.adminKey);
        assert.deepEqual(models, [
          { id: BASE[0], object: 'model', created: 1_702_100_000, owned_by: 'system' },
          { id: BASE[1], object: 'model', created: 1_702_100_000, owned_by: 'system' },
          { id: first, object: 'model', created: 1_702_100_005, owned_by: org.orgId },
          { id: second, object: 'model', created: 1_702_100_010, owned_by: org.orgId },
        ]);
        for (const model of models) assert.deepEqual((await retrieveModel(app, org.adminKey, model.id)).body, model);
        assertModelNotFound(await retrieveModel(app, org.adminKey, theirs), theirs);
        assert.deepEqual(await modelIds(app, stranger.adminKey), [...BASE, theirs]);
      });
    });

    test('no base models configured: a project with nothing to use lists nothing', async () => {
      const { app, store } = world;
      const org = await newOrg(store);
      const key = await projectKey(app, org.adminKey, await createProject(app, org.adminKey));
      assert.deepEqual(await listModels(app, key), []);
      assert.deepEqual(await listModels(app, org.adminKey), []);
      assertModelNotFound(await retrieveModel(app, key, 'gpt-4o-mini'), 'gpt-4o-mini');
    });

    test('a checkpoint named like a base model: the owner lists the checkpoint, others the base model, once', async () => {
      await withApp(world.store, { baseModels: BASE }, async (app) => {
        const org = await newOrg(world.store);
        const [owner, grantee, other] = [
          await createProject(app, org.adminKey),
          await createProject(app, org.adminKey),
          await createProject(app, org.adminKey),
        ];
        const name = BASE[0] as string;
        await registerCheckpoint(app, org.adminKey, name, owner);
        await grant(app, org.adminKey, name, [grantee]);
        for (const [project, ownedBy] of [
          [owner, org.orgId],
          [grantee, org.orgId],
          [other, 'system'],
        ] as const) {
          const key = await projectKey(app, org.adminKey, project);
          const models = await listModels(app, key);
          // Base models first, in configuration order; a checkpoint of the project's after them.
          const expected =
            ownedBy === 'system'
              ? [
                  [BASE[0], 'system'],
                  [BASE[1], 'system'],
                ]
              : [
                  [BASE[1], 'system'],
                  [name, ownedBy],
                ];
          assert.deepEqual(
            models.map((m) => [m.id, m.owned_by]),
            expected,
          );
          assert.equal((await retrieveModel(app, key, name)).body.owned_by, ownedBy);
        }
        const admin = await listModels(app, org.adminKey);
        assert.deepEqual(
          admin.map((m) => [m.id, m.owned_by]),
          [
            [BASE[1], 'system'],
            [name, org.orgId],
          ],
        );
        // Deleting it deletes the checkpoint; the base model stays and cannot be deleted.
        const deleted = await send(app, { method: 'DELETE', url: modelPath(name), headers: bearer(org.adminKey) });
        assert.deepEqual(deleted.body, { id: name, object: 'model', deleted: true });
        assert.deepEqual(await modelIds(app, org.adminKey), BASE);
        const again = await send(app, { method: 'DELETE', url: modelPath(name), headers: bearer(org.adminKey) });
        assertError(again, 400, { code: 'model_not_deletable', param: 'model' });
      });
    });

    test('DELETE /v1/models/{model}: a checkpoint and its permissions go; base 400; unknown 404; project key 403', async () => {
      await withApp(world.store, { baseModels: BASE }, async (app) => {
        const org = await newOrg(world.store);
        const [owner, grantee] = [await createProject(app, org.adminKey), await createProject(app, org.adminKey)];
        const [doomed, kept] = [checkpointName(':ckpt-step-88'), checkpointName()];
        await registerCheckpoint(app, org.adminKey, doomed, owner);
        await registerCheckpoint(app, org.adminKey, kept, owner);
        await grant(app, org.adminKey, doomed, [grantee]);
        await grant(app, org.adminKey, kept, [grantee]);
        const granteeKey = await projectKey(app, org.adminKey, grantee);
        const ownerKey = await projectKey(app, org.adminKey, owner);
        assert.equal((await retrieveModel(app, granteeKey, doomed)).status, 200);
        const headers = bearer(org.adminKey);

        assertError(await send(app, { method: 'DELETE', url: modelPath(doomed), headers: bearer(ownerKey) }), 403, {
          code: 'insufficient_permissions',
        });
        const stranger = await newOrg(world.store);
        assertModelNotFound(
          await send(app, { method: 'DELETE', url: modelPath(doomed), headers: bearer(stranger.adminKey) }),
          doomed,
        );

        const deleted = await send(app, { method: 'DELETE', url: `/v1/models/${encoded(doomed)}`, headers });
        assert.deepEqual(deleted.body, { id: doomed, object: 'model', deleted: true });
        for (const key of [granteeKey, ownerKey, org.adminKey]) {
          assertModelNotFound(await retrieveModel(app, key, doomed), doomed);
          assert.ok(!(await modelIds(app, key)).includes(doomed));
          assert.ok((await modelIds(app, key)).includes(kept));
        }
        assertModelNotFound(await send(app, { method: 'GET', url: permissionsUrl(doomed), headers }), doomed);
        assertModelNotFound(await send(app, { method: 'DELETE', url: modelPath(doomed), headers }), doomed);

        // Registered again, it starts without permissions.
        await registerCheckpoint(app, org.adminKey, doomed, owner);
        assert.deepEqual((await adminGet(app, org.adminKey, permissionsUrl(doomed))).data, []);
        assertModelNotFound(await retrieveModel(app, granteeKey, doomed), doomed);
        assert.equal((await retrieveModel(app, ownerKey, doomed)).status, 200);

        for (const base of BASE) {
          const refused = await send(app, { method: 'DELETE', url: modelPath(base), headers });
          assertError(refused, 400, { code: 'model_not_deletable', param: 'model' });
          assert.ok(refused.body.error.message.includes(base));
        }
        assertModelNotFound(await send(app, { method: 'DELETE', url: modelPath('gpt-5'), headers }), 'gpt-5');
        assert.deepEqual(await modelIds(app, org.adminKey), [...BASE, kept, doomed]);
      });
    });

    test('keys that do not work answer 401, not an empty list: archived project, deleted key', async () => {
      await withApp(world.store, { baseModels: BASE }, async (app) => {
        const org = await newOrg(world.store);
        const [owner, grantee] = [await createProject(app, org.adminKey), await createProject(app, org.adminKey)];
        const checkpoint = checkpointName();
        await registerCheckpoint(app, org.adminKey, checkpoint, owner);
        await grant(app, org.adminKey, checkpoint, [grantee]);
        const ownerAccount = await serviceAccount(app, org.adminKey, owner);
        const granteeAccount = await serviceAccount(app, org.adminKey, grantee);
        assert.equal((await retrieveModel(app, ownerAccount.secret, checkpoint)).status, 200);

        await archive(app, org.adminKey, owner);
        for (const request of [
          { method: 'GET' as const, url: '/v1/models' },
          { method: 'GET' as const, url: modelPath(checkpoint) },
        ]) {
          assertError(await send(app, { ...request, headers: bearer(ownerAccount.secret) }), 401, {
            code: 'invalid_api_key',
          });
        }
        // The grants it gave as owner stand.
        assert.deepEqual(await modelIds(app, granteeAccount.secret), [...BASE, checkpoint]);

        await deleteProjectKey(app, org.adminKey, grantee, granteeAccount.keyId);
        assertError(
          await send(app, { method: 'GET', url: '/v1/models', headers: bearer(granteeAccount.secret) }),
          401,
          {
            code: 'invalid_api_key',
          },
        );
      });
    });
  });
}
