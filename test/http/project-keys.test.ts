import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { backends } from '../support/backends.ts';
import {
  archive,
  assertError,
  assertListEnvelope,
  pinnedClock,
  send,
  serviceAccount,
  useWorld,
} from '../support/http.ts';
import { adminGet, assertNoSecret, auditEvents, redacted, withApp } from '../support/models.ts';
import { bearer, createProject, newOrg } from '../support/world.ts';

const keysUrl = (projectId: string) => `/v1/organization/projects/${projectId}/api_keys`;
const keyUrl = (projectId: string, id: string) => `${keysUrl(projectId)}/${id}`;
const KEY_FIELDS = [
  'created_at',
  'expires_at',
  'id',
  'last_used_at',
  'name',
  'object',
  'owner',
  'owner_project_access',
  'redacted_value',
];

async function works(app: FastifyInstance, key: string): Promise<boolean> {
  const response = await send(app, { method: 'GET', url: '/v1/models', headers: bearer(key) });
  if (response.status === 200) return true;
  assertError(response, 401, { code: 'invalid_api_key', param: null });
  return false;
}

async function listKeys(app: FastifyInstance, adminKey: string, projectId: string, query = '') {
  const body = await adminGet(app, adminKey, `${keysUrl(projectId)}${query}`);
  assertListEnvelope(body);
  return body;
}

const ids = (body: { data: { id: string }[] }) => body.data.map((k) => k.id);

async function update(app: FastifyInstance, adminKey: string, projectId: string, id: string, payload: object) {
  const response = await send(app, { method: 'POST', url: keyUrl(projectId, id), headers: bearer(adminKey), payload });
  assert.equal(response.status, 200, JSON.stringify(response.body));
  return response.body;
}

/** CONTRACT §5/§5a: a project's API keys (each a service account's). */
for (const backend of await backends()) {
  describe(`project API keys (${backend.name})`, () => {
    const world = useWorld(backend);

    test('list and retrieve answer the exact, redacted key with its service account as owner', async () => {
      const clock = pinnedClock(1_701_000_000);
      await withApp(world.store, { clock }, async (app) => {
        const org = await newOrg(world.store, clock);
        const project = await createProject(app, org.adminKey);
        clock.now += 3;
        const account = await serviceAccount(app, org.adminKey, project, 'ci-bot');
        const expected = {
          object: 'organization.project.api_key',
          redacted_value: redacted(account.secret),
          name: 'Secret Key',
          created_at: 1_701_000_003,
          last_used_at: null,
          expires_at: null,
          id: account.keyId,
          owner_project_access: 'active',
          owner: {
            type: 'service_account',
            service_account: { id: account.id, name: 'ci-bot', created_at: 1_701_000_003, role: 'member' },
          },
        };
        const retrieved = await adminGet(app, org.adminKey, keyUrl(project, account.keyId));
        assert.deepEqual(retrieved, expected);
        assert.deepEqual(Object.keys(retrieved).sort(), KEY_FIELDS);
        const listed = await listKeys(app, org.adminKey, project);
        assert.deepEqual(listed, {
          object: 'list',
          data: [expected],
          first_id: account.keyId,
          last_id: account.keyId,
          has_more: false,
        });
        assertNoSecret([retrieved, listed], [account.secret]);

        // The owner is shown as it is now.
        const renamed = await send(app, {
          method: 'POST',
          url: `/v1/organization/projects/${project}/service_accounts/${account.id}`,
          headers: bearer(org.adminKey),
          payload: { name: 'renamed', role: 'owner' },
        });
        assert.equal(renamed.status, 200);
        assert.deepEqual((await adminGet(app, org.adminKey, keyUrl(project, account.keyId))).owner.service_account, {
          id: account.id,
          name: 'renamed',
          created_at: 1_701_000_003,
          role: 'owner',
        });
      });
    });

    test('list: oldest first, limit, exact has_more, after, owner_project_access; bad queries 400', async () => {
      const clock = pinnedClock(1_701_100_000);
      await withApp(world.store, { clock }, async (app) => {
        const org = await newOrg(world.store, clock);
        const [project, other] = [await createProject(app, org.adminKey), await createProject(app, org.adminKey)];
        const made: string[] = [];
        for (let i = 0; i < 5; i++) {
          clock.now += 1;
          made.push((await serviceAccount(app, org.adminKey, project, `sa ${i}`)).keyId);
        }
        const foreign = (await serviceAccount(app, org.adminKey, other)).keyId;

        assert.deepEqual(ids(await listKeys(app, org.adminKey, project)), made);
        const first = await listKeys(app, org.adminKey, project, '?limit=2');
        assert.deepEqual([ids(first), first.has_more], [made.slice(0, 2), true]);
        const second = await listKeys(app, org.adminKey, project, `?limit=2&after=${first.last_id}`);
        assert.deepEqual([ids(second), second.has_more], [made.slice(2, 4), true]);
        const third = await listKeys(app, org.adminKey, project, `?limit=2&after=${second.last_id}`);
        assert.deepEqual([ids(third), third.has_more], [made.slice(4), false]);
        assert.equal((await listKeys(app, org.adminKey, project, '?limit=5')).has_more, false);

        for (const access of ['any', 'active']) {
          assert.deepEqual(ids(await listKeys(app, org.adminKey, project, `?owner_project_access=${access}`)), made);
        }
        assert.deepEqual(ids(await listKeys(app, org.adminKey, project, '?owner_project_access=inactive')), []);

        const deleted = made[0] as string;
        const gone = await send(app, {
          method: 'DELETE',
          url: keyUrl(project, deleted),
          headers: bearer(org.adminKey),
        });
        assert.equal(gone.status, 200);
        const headers = bearer(org.adminKey);
        const queries: [string, string][] = [
          ['limit=0', 'limit'],
          ['limit=101', 'limit'],
          ['owner_project_access=archived', 'owner_project_access'],
          ['after=key_unknown', 'after'],
          [`after=${foreign}`, 'after'],
          [`after=${deleted}`, 'after'],
        ];
        for (const [query, param] of queries) {
          assertError(await send(app, { method: 'GET', url: `${keysUrl(project)}?${query}`, headers }), 400, { param });
        }
        assertError(await send(app, { method: 'GET', url: keysUrl('proj_unknown'), headers }), 404);
      });
    });

    test('delete: 401 on the key’s next request, gone from the list, 404 the second time; its account stays', async () => {
      const { app, store } = world;
      const org = await newOrg(store);
      const project = await createProject(app, org.adminKey);
      const account = await serviceAccount(app, org.adminKey, project);
      const other = await serviceAccount(app, org.adminKey, project);
      // Twice: from its second use on, a key is trusted from memory until something changes.
      assert.equal(await works(app, account.secret), true);
      assert.equal(await works(app, account.secret), true);
      const headers = bearer(org.adminKey);

      const deleted = await send(app, { method: 'DELETE', url: keyUrl(project, account.keyId), headers });
      assert.deepEqual(deleted.body, {
        object: 'organization.project.api_key.deleted',
        id: account.keyId,
        deleted: true,
      });
      assert.equal(await works(app, account.secret), false);
      assert.equal(await works(app, other.secret), true);
      assert.deepEqual(ids(await listKeys(app, org.adminKey, project)), [other.keyId]);
      for (const method of ['GET', 'DELETE'] as const) {
        assertError(await send(app, { method, url: keyUrl(project, account.keyId), headers }), 404, { param: null });
      }
      // The service account is still there, and may get a new key.
      const still = await adminGet(
        app,
        org.adminKey,
        `/v1/organization/projects/${project}/service_accounts/${account.id}`,
      );
      assert.equal(still.id, account.id);
    });

    test('unknown keys, keys of another project and admin keys answer 404', async () => {
      const { app, store } = world;
      const org = await newOrg(store);
      const [a, b] = [await createProject(app, org.adminKey), await createProject(app, org.adminKey)];
      const ofA = await serviceAccount(app, org.adminKey, a);
      const adminKeyId = (await adminGet(app, org.adminKey, '/v1/organization/admin_api_keys')).data[0].id;
      const headers = bearer(org.adminKey);
      for (const [project, id] of [
        [b, ofA.keyId],
        [a, 'key_0000000000000000'],
        [a, adminKeyId],
        ['proj_unknown', ofA.keyId],
      ] as const) {
        for (const request of [
          { method: 'GET' as const, url: keyUrl(project, id) },
          { method: 'POST' as const, url: keyUrl(project, id), payload: { expires_in_seconds: 60 } },
          { method: 'DELETE' as const, url: keyUrl(project, id) },
        ]) {
          assertError(await send(app, { ...request, headers }), 404, { param: null });
        }
      }
      assert.equal(await works(app, ofA.secret), true);
      assert.equal((await adminGet(app, org.adminKey, keyUrl(a, ofA.keyId))).expires_at, null);
    });

    test('update: expires_in_seconds sets (and null clears) the expiry; scopes are recorded, not enforced', async () => {
      const clock = pinnedClock(1_701_200_000);
      await withApp(world.store, { clock }, async (app) => {
        const org = await newOrg(world.store, clock);
        const project = await createProject(app, org.adminKey);
        const account = await serviceAccount(app, org.adminKey, project);
        const url = keyUrl(project, account.keyId);

        clock.now += 100;
        const expiring = await update(app, org.adminKey, project, account.keyId, { expires_in_seconds: 60 });
        assert.equal(expiring.expires_at, 1_701_200_160);
        assert.deepEqual(await adminGet(app, org.adminKey, url), expiring);
        assert.deepEqual(Object.keys(expiring).sort(), KEY_FIELDS);

        const cleared = await update(app, org.adminKey, project, account.keyId, { expires_in_seconds: null });
        assert.equal(cleared.expires_at, null, 'the update answers the key as it now is');
        assert.deepEqual(await adminGet(app, org.adminKey, url), cleared);
        clock.now += 1000;
        assert.equal(await works(app, account.secret), true, 'a cleared expiry does not expire');

        const scoped = await update(app, org.adminKey, project, account.keyId, { scopes: ['api.model.read'] });
        assert.deepEqual(scoped, cleared);
        const [event] = await auditEvents(app, org.adminKey);
        assert.equal(event?.type, 'api_key.updated');
        assert.equal(await works(app, account.secret), true, 'scopes are not enforced');
        assert.deepEqual(await update(app, org.adminKey, project, account.keyId, {}), cleared);

        const reExpiring = await update(app, org.adminKey, project, account.keyId, { expires_in_seconds: 5 });
        assert.equal(reExpiring.expires_at, clock.now + 5);
        clock.now += 4;
        assert.equal(await works(app, account.secret), true);
        clock.now += 1;
        assert.equal(await works(app, account.secret), false, 'expired at its new expires_at');
        // Still listed and retrievable once expired; and a new expiry brings it back.
        assert.deepEqual(ids(await listKeys(app, org.adminKey, project)), [account.keyId]);
        await update(app, org.adminKey, project, account.keyId, { expires_in_seconds: 60 });
        assert.equal(await works(app, account.secret), true);
      });
    });

    test('update: bad bodies answer 400 naming the field, and change nothing', async () => {
      const { app, store } = world;
      const org = await newOrg(store);
      const project = await createProject(app, org.adminKey);
      const account = await serviceAccount(app, org.adminKey, project);
      const url = keyUrl(project, account.keyId);
      const before = await adminGet(app, org.adminKey, url);
      const headers = { ...bearer(org.adminKey), 'content-type': 'application/json' };
      const bodies: [unknown, string | null, string?][] = [
        [{ expires_in_seconds: 0 }, 'expires_in_seconds'],
        [{ expires_in_seconds: -5 }, 'expires_in_seconds'],
        [{ expires_in_seconds: 31_536_001 }, 'expires_in_seconds'],
        [{ expires_in_seconds: '60' }, 'expires_in_seconds'],
        [{ expires_in_seconds: 0.5 }, 'expires_in_seconds'],
        [{ scopes: 'api.model.read' }, 'scopes'],
        [{ scopes: [''] }, 'scopes'],
        [{ name: 'renamed' }, 'name', 'unknown_parameter'],
        [[], null],
      ];
      for (const [payload, param, code] of bodies) {
        const response = await send(app, { method: 'POST', url, headers, payload: JSON.stringify(payload) });
        assertError(response, 400, { param, ...(code ? { code } : {}) });
      }
      assert.deepEqual(await adminGet(app, org.adminKey, url), before);
    });

    test('an archived project’s keys answer 401 and list as inactive', async () => {
      const { app, store } = world;
      const org = await newOrg(store);
      const project = await createProject(app, org.adminKey);
      const account = await serviceAccount(app, org.adminKey, project);
      assert.equal(await works(app, account.secret), true);
      assert.equal(await works(app, account.secret), true);
      await archive(app, org.adminKey, project);
      assert.equal(await works(app, account.secret), false);

      const all = await listKeys(app, org.adminKey, project);
      assert.deepEqual(ids(all), [account.keyId]);
      assert.equal(all.data[0].owner_project_access, 'inactive');
      assert.equal(
        (await adminGet(app, org.adminKey, keyUrl(project, account.keyId))).owner_project_access,
        'inactive',
      );
      assert.deepEqual(ids(await listKeys(app, org.adminKey, project, '?owner_project_access=inactive')), [
        account.keyId,
      ]);
      assert.deepEqual(ids(await listKeys(app, org.adminKey, project, '?owner_project_access=active')), []);
      // Deleting one still works.
      const deleted = await send(app, {
        method: 'DELETE',
        url: keyUrl(project, account.keyId),
        headers: bearer(org.adminKey),
      });
      assert.equal(deleted.status, 200);
      assert.deepEqual(ids(await listKeys(app, org.adminKey, project)), []);
    });
  });
}
