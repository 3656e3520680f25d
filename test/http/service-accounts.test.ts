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
import { adminGet, assertNoSecret, redacted, withApp } from '../support/models.ts';
import { bearer, createProject, newOrg } from '../support/world.ts';

const projectUrl = (projectId: string) => `/v1/organization/projects/${projectId}`;
const accountsUrl = (projectId: string) => `${projectUrl(projectId)}/service_accounts`;
const accountUrl = (projectId: string, id: string) => `${accountsUrl(projectId)}/${id}`;
const SERVICE_ACCOUNT_ID = /^svc_acct_[0-9A-Za-z]{24}$/;
const PROJECT_SECRET = /^sk-proj-[0-9A-Za-z]{48}$/;

/** Whether `key` is admitted right now (200 on GET /v1/models; 401 invalid_api_key otherwise). */
async function works(app: FastifyInstance, key: string): Promise<boolean> {
  const response = await send(app, { method: 'GET', url: '/v1/models', headers: bearer(key) });
  if (response.status === 200) return true;
  assertError(response, 401, { code: 'invalid_api_key', param: null });
  return false;
}

async function listAccounts(app: FastifyInstance, adminKey: string, projectId: string, query = '') {
  const body = await adminGet(app, adminKey, `${accountsUrl(projectId)}${query}`);
  assertListEnvelope(body);
  return body;
}

const ids = (body: { data: { id: string }[] }) => body.data.map((k) => k.id);

/** POST …/service_accounts/{id}/api_keys, asserting 200. */
async function addKey(app: FastifyInstance, adminKey: string, projectId: string, accountId: string, body: object = {}) {
  const response = await send(app, {
    method: 'POST',
    url: `${accountUrl(projectId, accountId)}/api_keys`,
    headers: bearer(adminKey),
    payload: body,
  });
  assert.equal(response.status, 200, JSON.stringify(response.body));
  return response.body as { object: string; id: string; value: string; name: string; created_at: number };
}

/** CONTRACT §5/§5a: service accounts and their keys. */
for (const backend of await backends()) {
  describe(`service accounts (${backend.name})`, () => {
    const world = useWorld(backend);

    test('retrieve, list and update answer the exact account; the secret appears in the create answer only', async () => {
      const clock = pinnedClock(1_700_500_000);
      await withApp(world.store, { clock }, async (app) => {
        const org = await newOrg(world.store, clock);
        const project = await createProject(app, org.adminKey);
        const created = await send(app, {
          method: 'POST',
          url: accountsUrl(project),
          headers: bearer(org.adminKey),
          payload: { name: 'ci-bot' },
        });
        assert.equal(created.status, 200);
        const { id, api_key } = created.body;
        assert.match(id, SERVICE_ACCOUNT_ID);
        assert.match(api_key.value, PROJECT_SECRET);
        const expected = {
          object: 'organization.project.service_account',
          id,
          name: 'ci-bot',
          role: 'member',
          created_at: 1_700_500_000,
        };
        assert.deepEqual(await adminGet(app, org.adminKey, accountUrl(project, id)), expected);
        const listed = await listAccounts(app, org.adminKey, project);
        assert.deepEqual(listed, { object: 'list', data: [expected], first_id: id, last_id: id, has_more: false });
        assertNoSecret(listed, [api_key.value]);

        clock.now += 5;
        const renamed = await send(app, {
          method: 'POST',
          url: accountUrl(project, id),
          headers: bearer(org.adminKey),
          payload: { name: 'ci-bot 2' },
        });
        assert.deepEqual(renamed.body, { ...expected, name: 'ci-bot 2' });
        const promoted = await send(app, {
          method: 'POST',
          url: accountUrl(project, id),
          headers: bearer(org.adminKey),
          payload: { role: 'owner' },
        });
        assert.deepEqual(promoted.body, { ...expected, name: 'ci-bot 2', role: 'owner' });
        const both = await send(app, {
          method: 'POST',
          url: accountUrl(project, id),
          headers: bearer(org.adminKey),
          payload: { name: 'ci', role: 'member' },
        });
        assert.deepEqual(both.body, { ...expected, name: 'ci' });
        const nothing = await send(app, {
          method: 'POST',
          url: accountUrl(project, id),
          headers: bearer(org.adminKey),
          payload: {},
        });
        assert.deepEqual(nothing.body, { ...expected, name: 'ci' });
        assert.deepEqual(await adminGet(app, org.adminKey, accountUrl(project, id)), { ...expected, name: 'ci' });
        // A role change decides nothing about what its key may do.
        assert.equal(await works(app, api_key.value), true);
      });
    });

    test('list: oldest first, limit 1–100 default 20, exact has_more, after; bad queries 400', async () => {
      const clock = pinnedClock(1_700_600_000);
      await withApp(world.store, { clock }, async (app) => {
        const org = await newOrg(world.store, clock);
        const project = await createProject(app, org.adminKey);
        const other = await createProject(app, org.adminKey);
        const made: string[] = [];
        for (let i = 0; i < 21; i++) {
          // Every third in the same second as the one before: the id breaks the tie, in one total order.
          if (i % 3) clock.now += 1;
          made.push((await serviceAccount(app, org.adminKey, project, `sa ${i}`)).id);
        }
        const foreign = (await serviceAccount(app, org.adminKey, other)).id;

        const first = await listAccounts(app, org.adminKey, project);
        assert.equal(first.data.length, 20);
        assert.equal(first.has_more, true);
        const rest = await listAccounts(app, org.adminKey, project, `?after=${first.last_id}`);
        assert.equal(rest.has_more, false);
        const all = [...ids(first), ...ids(rest)];
        assert.deepEqual([...all].sort(), [...made].sort());
        const byTime = (await listAccounts(app, org.adminKey, project, '?limit=100')).data.map(
          (a: { created_at: number }) => a.created_at,
        );
        assert.deepEqual(
          byTime,
          [...byTime].sort((a, b) => a - b),
        );
        assert.deepEqual(ids(await listAccounts(app, org.adminKey, project, '?limit=21')), all);
        const paged: string[] = [];
        let after: string | null = null;
        for (;;) {
          const page = await listAccounts(app, org.adminKey, project, `?limit=4${after ? `&after=${after}` : ''}`);
          paged.push(...ids(page));
          if (!page.has_more) break;
          after = page.last_id;
        }
        assert.deepEqual(paged, all);
        assert.deepEqual(ids(await listAccounts(app, org.adminKey, other)), [foreign]);

        const deleted = made[0] as string;
        const gone = await send(app, {
          method: 'DELETE',
          url: accountUrl(project, deleted),
          headers: bearer(org.adminKey),
        });
        assert.equal(gone.status, 200);
        const headers = bearer(org.adminKey);
        const queries: [string, string][] = [
          ['limit=0', 'limit'],
          ['limit=101', 'limit'],
          ['limit=x', 'limit'],
          ['after=svc_acct_nope', 'after'],
          [`after=${foreign}`, 'after'],
          [`after=${deleted}`, 'after'],
        ];
        for (const [query, param] of queries) {
          assertError(await send(app, { method: 'GET', url: `${accountsUrl(project)}?${query}`, headers }), 400, {
            param,
          });
        }
      });
    });

    test('bad create and update bodies answer 400 naming the field, and change nothing', async () => {
      const { app, store } = world;
      const org = await newOrg(store);
      const project = await createProject(app, org.adminKey);
      const account = await serviceAccount(app, org.adminKey, project, 'kept');
      const headers = { ...bearer(org.adminKey), 'content-type': 'application/json' };
      const before = await listAccounts(app, org.adminKey, project);

      const creates: [unknown, string | null, string?][] = [
        [{}, 'name', 'missing_required_parameter'],
        [{ name: '' }, 'name'],
        [{ name: '   ' }, 'name'],
        [{ name: 'x'.repeat(257) }, 'name'],
        [{ name: 1 }, 'name'],
        [{ name: 'ok', role: 'owner' }, 'role', 'unknown_parameter'],
        [{ name: 'ok', create_service_account_only: 'yes' }, 'create_service_account_only'],
        [{ name: 'ok', expires_in_seconds: 0 }, 'expires_in_seconds'],
        [{ name: 'ok', expires_in_seconds: 31_536_001 }, 'expires_in_seconds'],
        [{ name: 'ok', expires_in_seconds: 2.5 }, 'expires_in_seconds'],
        [[{ name: 'ok' }], null],
      ];
      for (const [payload, param, code] of creates) {
        const response = await send(app, {
          method: 'POST',
          url: accountsUrl(project),
          headers,
          payload: JSON.stringify(payload),
        });
        assertError(response, 400, { param, ...(code ? { code } : {}) });
      }
      const updates: [unknown, string | null, string?][] = [
        [{ name: '' }, 'name'],
        [{ name: null }, 'name'],
        [{ role: 'none' }, 'role'],
        [{ role: 'admin' }, 'role'],
        [{ role: 1 }, 'role'],
        [{ project_id: project }, 'project_id', 'unknown_parameter'],
        [{ name: 'ok', id: account.id }, 'id', 'unknown_parameter'],
      ];
      for (const [payload, param, code] of updates) {
        const response = await send(app, {
          method: 'POST',
          url: accountUrl(project, account.id),
          headers,
          payload: JSON.stringify(payload),
        });
        assertError(response, 400, { param, ...(code ? { code } : {}) });
      }
      assert.deepEqual(await listAccounts(app, org.adminKey, project), before);
    });

    test('unknown projects, unknown accounts and accounts of another project answer 404', async () => {
      const { app, store } = world;
      const org = await newOrg(store);
      const [a, b] = [await createProject(app, org.adminKey), await createProject(app, org.adminKey)];
      const ofA = await serviceAccount(app, org.adminKey, a);
      const stranger = await newOrg(store);
      const foreignProject = await createProject(app, stranger.adminKey);
      const foreign = await serviceAccount(app, stranger.adminKey, foreignProject);
      const headers = bearer(org.adminKey);

      for (const project of ['proj_unknown', foreignProject]) {
        for (const request of [
          { method: 'GET' as const, url: accountsUrl(project) },
          { method: 'POST' as const, url: accountsUrl(project), payload: { name: 'x' } },
        ]) {
          const response = await send(app, { ...request, headers });
          assertError(response, 404, { param: null });
          assert.ok(response.body.error.message.includes(project));
        }
      }
      const misses = [
        [b, ofA.id],
        [a, 'svc_acct_unknown'],
        [foreignProject, foreign.id],
        [a, foreign.id],
      ] as const;
      for (const [project, id] of misses) {
        for (const request of [
          { method: 'GET' as const, url: accountUrl(project, id) },
          { method: 'POST' as const, url: accountUrl(project, id), payload: { name: 'x' } },
          { method: 'DELETE' as const, url: accountUrl(project, id) },
          { method: 'POST' as const, url: `${accountUrl(project, id)}/api_keys`, payload: {} },
        ]) {
          assertError(await send(app, { ...request, headers }), 404, { param: null });
        }
      }
      // Nothing was changed by the misses.
      assert.deepEqual(ids(await listAccounts(app, org.adminKey, a)), [ofA.id]);
      assert.deepEqual(ids(await listAccounts(app, stranger.adminKey, foreignProject)), [foreign.id]);
      assert.equal(await works(app, ofA.secret), true);
      assert.equal(await works(app, foreign.secret), true);
    });

    test('deleting an account deletes every key of it: each answers 401 on its next request', async () => {
      const { app, store } = world;
      const org = await newOrg(store);
      const project = await createProject(app, org.adminKey);
      const doomed = await serviceAccount(app, org.adminKey, project, 'doomed');
      const second = await addKey(app, org.adminKey, project, doomed.id, { name: 'second' });
      const survivor = await serviceAccount(app, org.adminKey, project, 'survivor');
      // Each used twice: from its second use on, a key is trusted from memory until something changes.
      for (const key of [doomed.secret, second.value, survivor.secret, doomed.secret, second.value]) {
        assert.equal(await works(app, key), true);
      }

      const headers = bearer(org.adminKey);
      const deleted = await send(app, { method: 'DELETE', url: accountUrl(project, doomed.id), headers });
      assert.deepEqual(deleted.body, {
        object: 'organization.project.service_account.deleted',
        id: doomed.id,
        deleted: true,
      });
      assert.equal(await works(app, doomed.secret), false);
      assert.equal(await works(app, second.value), false);
      assert.equal(await works(app, survivor.secret), true);

      assert.deepEqual(ids(await listAccounts(app, org.adminKey, project)), [survivor.id]);
      const keys = await adminGet(app, org.adminKey, `${projectUrl(project)}/api_keys`);
      assert.deepEqual(ids(keys), [survivor.keyId]);
      assertError(await send(app, { method: 'GET', url: accountUrl(project, doomed.id), headers }), 404);
      assertError(await send(app, { method: 'DELETE', url: accountUrl(project, doomed.id), headers }), 404);
      assertError(
        await send(app, { method: 'POST', url: `${accountUrl(project, doomed.id)}/api_keys`, headers, payload: {} }),
        404,
      );
    });

    test('api_keys: another key for an account, shown once, working, listed redacted', async () => {
      const clock = pinnedClock(1_700_700_000);
      await withApp(world.store, { clock }, async (app) => {
        const org = await newOrg(world.store, clock);
        const project = await createProject(app, org.adminKey);
        const account = await serviceAccount(app, org.adminKey, project);
        clock.now += 7;
        const plain = await addKey(app, org.adminKey, project, account.id);
        assert.match(plain.value, PROJECT_SECRET);
        assert.deepEqual(plain, {
          object: 'organization.project.service_account.api_key',
          value: plain.value,
          name: 'Secret Key',
          created_at: 1_700_700_007,
          id: plain.id,
        });
        clock.now += 1;
        const named = await addKey(app, org.adminKey, project, account.id, {
          name: 'reader',
          scopes: ['api.model.read', 'api.model.request'],
          expires_in_seconds: 30,
        });
        assert.equal(named.name, 'reader');
        const keysUrl = `${projectUrl(project)}/api_keys`;
        const listed = await adminGet(app, org.adminKey, keysUrl);
        assert.deepEqual(ids(listed), [account.keyId, plain.id, named.id]);
        assert.deepEqual(
          listed.data.map((k: { redacted_value: string }) => k.redacted_value),
          [account.secret, plain.value, named.value].map(redacted),
        );
        assert.equal(listed.data[2].expires_at, 1_700_700_038);
        assert.equal(listed.data[2].owner.service_account.id, account.id);
        assertNoSecret(listed, [account.secret, plain.value, named.value]);

        for (const key of [account.secret, plain.value, named.value]) assert.equal(await works(app, key), true);
        clock.now = 1_700_700_038;
        assert.equal(await works(app, named.value), false, 'the expiring key expired');
        assert.equal(await works(app, plain.value), true);

        // An account made without a key may get one later.
        const keyless = await send(app, {
          method: 'POST',
          url: accountsUrl(project),
          headers: bearer(org.adminKey),
          payload: { name: 'keyless', create_service_account_only: true },
        });
        assert.equal(keyless.body.api_key, null);
        const late = await addKey(app, org.adminKey, project, keyless.body.id, { name: 'late' });
        assert.equal(await works(app, late.value), true);
      });
    });

    test('api_keys: bad bodies answer 400 naming the field, and mint nothing', async () => {
      const { app, store } = world;
      const org = await newOrg(store);
      const project = await createProject(app, org.adminKey);
      const account = await serviceAccount(app, org.adminKey, project);
      const url = `${accountUrl(project, account.id)}/api_keys`;
      const headers = { ...bearer(org.adminKey), 'content-type': 'application/json' };
      const bodies: [unknown, string | null, string?][] = [
        [{ name: '' }, 'name'],
        [{ name: 5 }, 'name'],
        [{ name: 'x'.repeat(257) }, 'name'],
        [{ scopes: 'api.model.read' }, 'scopes'],
        [{ scopes: [''] }, 'scopes'],
        [{ scopes: [7] }, 'scopes'],
        [{ scopes: Array.from({ length: 101 }, (_, i) => `s${i}`) }, 'scopes'],
        [{ expires_in_seconds: 0 }, 'expires_in_seconds'],
        [{ expires_in_seconds: 31_536_001 }, 'expires_in_seconds'],
        [{ expires_in_seconds: '30' }, 'expires_in_seconds'],
        [{ role: 'owner' }, 'role', 'unknown_parameter'],
        [['x'], null],
      ];
      for (const [payload, param, code] of bodies) {
        const response = await send(app, { method: 'POST', url, headers, payload: JSON.stringify(payload) });
        assertError(response, 400, { param, ...(code ? { code } : {}) });
      }
      assert.deepEqual(ids(await adminGet(app, org.adminKey, `${projectUrl(project)}/api_keys`)), [account.keyId]);
    });

    test('an archived project: no new account, update or key (400 project_archived); list, retrieve, delete work', async () => {
      const { app, store } = world;
      const org = await newOrg(store);
      const project = await createProject(app, org.adminKey);
      const [a, b] = [
        await serviceAccount(app, org.adminKey, project, 'a'),
        await serviceAccount(app, org.adminKey, project, 'b'),
      ];
      await archive(app, org.adminKey, project);
      const headers = bearer(org.adminKey);
      const archived = { code: 'project_archived', param: 'project_id' };

      assertError(
        await send(app, { method: 'POST', url: accountsUrl(project), headers, payload: { name: 'late' } }),
        400,
        archived,
      );
      assertError(
        await send(app, { method: 'POST', url: accountUrl(project, a.id), headers, payload: { name: 'renamed' } }),
        400,
        archived,
      );
      assertError(
        await send(app, { method: 'POST', url: `${accountUrl(project, a.id)}/api_keys`, headers, payload: {} }),
        400,
        archived,
      );
      // Its keys answer 401 as long as it is archived.
      assert.equal(await works(app, a.secret), false);

      const listed = await listAccounts(app, org.adminKey, project);
      assert.deepEqual(ids(listed).sort(), [a.id, b.id].sort());
      assert.equal((await adminGet(app, org.adminKey, accountUrl(project, a.id))).name, 'a');
      const deleted = await send(app, { method: 'DELETE', url: accountUrl(project, a.id), headers });
      assert.equal(deleted.status, 200, JSON.stringify(deleted.body));
      assert.deepEqual(ids(await listAccounts(app, org.adminKey, project)), [b.id]);
      const keys = await adminGet(app, org.adminKey, `${projectUrl(project)}/api_keys`);
      assert.deepEqual(ids(keys), [b.keyId]);
    });

    test('a create with expires_in_seconds gives its key that expiry', async () => {
      const clock = pinnedClock(1_700_800_000);
      await withApp(world.store, { clock }, async (app) => {
        const org = await newOrg(world.store, clock);
        const project = await createProject(app, org.adminKey);
        const created = await send(app, {
          method: 'POST',
          url: accountsUrl(project),
          headers: bearer(org.adminKey),
          payload: { name: 'temp', expires_in_seconds: 3600 },
        });
        assert.equal(created.status, 200);
        const keyId = created.body.api_key.id;
        const key = await adminGet(app, org.adminKey, `${projectUrl(project)}/api_keys/${keyId}`);
        assert.equal(key.expires_at, 1_700_803_600);
        clock.now = 1_700_803_599;
        assert.equal(await works(app, created.body.api_key.value), true);
        clock.now = 1_700_803_600;
        assert.equal(await works(app, created.body.api_key.value), false);
      });
    });

    test('an empty body with a JSON content type counts as no body (CONTRACT §5a)', async () => {
      const { app, store } = world;
      const org = await newOrg(store);
      const project = await createProject(app, org.adminKey);
      const account = await serviceAccount(app, org.adminKey, project);
      const response = await send(app, {
        method: 'POST',
        url: `${accountUrl(project, account.id)}/api_keys`,
        headers: { ...bearer(org.adminKey), 'content-type': 'application/json' },
        payload: '',
      });
      assert.equal(response.status, 200, JSON.stringify(response.body));
      assert.equal(response.body.name, 'Secret Key');
    });
  });
}
