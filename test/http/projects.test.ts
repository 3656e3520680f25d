import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { backends } from '../support/backends.ts';
import { assertError, assertListEnvelope, createProjects, pinnedClock, send, useWorld } from '../support/http.ts';
import { bearer, createProject, newOrg, testApp } from '../support/world.ts';

const PROJECTS = '/v1/organization/projects';
const PROJECT_ID = /^proj_[0-9A-Za-z]{24}$/;

async function listProjects(app: FastifyInstance, key: string, query = '') {
  const response = await send(app, { method: 'GET', url: `${PROJECTS}${query}`, headers: bearer(key) });
  assert.equal(response.status, 200, JSON.stringify(response.body));
  assertListEnvelope(response.body);
  return response.body;
}

const ids = (body: { data: { id: string }[] }) => body.data.map((p) => p.id);

/** CONTRACT §5: OpenAI's projects API and service accounts. */
for (const backend of await backends()) {
  describe(`projects (${backend.name})`, () => {
    const world = useWorld(backend);

    test('create, retrieve, modify and archive answer the exact project object', async () => {
      const clock = pinnedClock(1_700_000_300);
      const app = await testApp(world.store, clock);
      try {
        const org = await newOrg(world.store);
        const headers = bearer(org.adminKey);
        const created = await send(app, { method: 'POST', url: PROJECTS, headers, payload: { name: 'Weather' } });
        assert.equal(created.status, 200);
        assert.match(created.body.id, PROJECT_ID);
        const expected = {
          id: created.body.id,
          object: 'organization.project',
          name: 'Weather',
          created_at: 1_700_000_300,
          archived_at: null,
          status: 'active',
          external_key_id: null,
        };
        assert.deepEqual(created.body, expected);
        const url = `${PROJECTS}/${created.body.id}`;
        assert.deepEqual((await send(app, { method: 'GET', url, headers })).body, expected);

        const renamed = await send(app, {
          method: 'POST',
          url,
          headers,
          payload: { name: 'Weather 2', external_key_id: 'ext-1' },
        });
        assert.equal(renamed.status, 200);
        assert.deepEqual(renamed.body, { ...expected, name: 'Weather 2', external_key_id: 'ext-1' });
        const cleared = await send(app, { method: 'POST', url, headers, payload: { external_key_id: null } });
        assert.deepEqual(cleared.body, { ...expected, name: 'Weather 2' });

        clock.now = 1_700_000_400;
        const archived = await send(app, { method: 'POST', url: `${url}/archive`, headers });
        assert.equal(archived.status, 200);
        const archivedShape = { ...expected, name: 'Weather 2', archived_at: 1_700_000_400, status: 'archived' };
        assert.deepEqual(archived.body, archivedShape);
        clock.now = 1_700_000_500;
        const again = await send(app, { method: 'POST', url: `${url}/archive`, headers });
        assert.deepEqual(again.body, archivedShape, 'archiving twice keeps the first archived_at');
        assert.deepEqual((await send(app, { method: 'GET', url, headers })).body, archivedShape);

        const withExternal = await send(app, {
          method: 'POST',
          url: PROJECTS,
          headers,
          payload: { name: 'Ext', external_key_id: 'k-9', residency: 'GLOBAL' },
        });
        assert.equal(withExternal.status, 200);
        assert.equal(withExternal.body.external_key_id, 'k-9');
      } finally {
        await app.close();
      }
    });

    test('list: oldest first, default limit 20, exact has_more, after, include_archived', async () => {
      const { app, store } = world;
      const org = await newOrg(store);
      const created = await createProjects(app, org.adminKey, 21);

      const first = await listProjects(app, org.adminKey);
      assert.deepEqual(ids(first), created.slice(0, 20));
      assert.equal(first.has_more, true);
      const rest = await listProjects(app, org.adminKey, `?after=${first.last_id}`);
      assert.deepEqual([ids(rest), rest.has_more], [created.slice(20), false]);
      const exact = await listProjects(app, org.adminKey, '?limit=21');
      assert.equal(exact.has_more, false);
      assert.equal((await listProjects(app, org.adminKey, '?limit=100')).data.length, 21);
      const one = await listProjects(app, org.adminKey, `?limit=1&after=${created[9]}`);
      assert.deepEqual([ids(one), one.has_more], [[created[10]], true]);

      const archived = created[3] as string;
      const response = await send(app, {
        method: 'POST',
        url: `${PROJECTS}/${archived}/archive`,
        headers: bearer(org.adminKey),
      });
      assert.equal(response.status, 200);
      const active = await listProjects(app, org.adminKey, '?limit=100');
      assert.deepEqual(
        ids(active),
        created.filter((id) => id !== archived),
      );
      const all = await listProjects(app, org.adminKey, '?limit=100&include_archived=true');
      assert.deepEqual(ids(all), created);
      assert.equal(all.data[3].status, 'archived');
    });

    test('service accounts answer a project API key once, and the key authenticates', async () => {
      const clock = pinnedClock(1_700_000_600);
      const app = await testApp(world.store, clock);
      try {
        const org = await newOrg(world.store);
        const project = await createProject(app, org.adminKey);
        const response = await send(app, {
          method: 'POST',
          url: `${PROJECTS}/${project}/service_accounts`,
          headers: bearer(org.adminKey),
          payload: { name: 'ci-bot' },
        });
        assert.equal(response.status, 200);
        const { id, api_key } = response.body;
        assert.match(id, /^svc_acct_[0-9A-Za-z]{24}$/);
        assert.match(api_key.value, /^sk-proj-[0-9A-Za-z]{48}$/);
        assert.match(api_key.id, /^key_/);
        assert.deepEqual(response.body, {
          object: 'organization.project.service_account',
          id,
          name: 'ci-bot',
          role: 'member',
          created_at: 1_700_000_600,
          api_key: {
            object: 'organization.project.service_account.api_key',
            value: api_key.value,
            name: 'Secret Key',
            created_at: 1_700_000_600,
            id: api_key.id,
          },
        });
        const doc = await send(app, { method: 'GET', url: '/v1/openapi.json', headers: bearer(api_key.value) });
        assert.equal(doc.status, 200);
      } finally {
        await app.close();
      }
    });

    test('create_service_account_only makes an account with role none and no key', async () => {
      const org = await newOrg(world.store);
      const project = await createProject(world.app, org.adminKey);
      const response = await send(world.app, {
        method: 'POST',
        url: `${PROJECTS}/${project}/service_accounts`,
        headers: bearer(org.adminKey),
        payload: { name: 'no-key', create_service_account_only: true },
      });
      assert.equal(response.status, 200);
      assert.equal(response.body.role, 'none');
      assert.equal(response.body.api_key, null);
      assert.equal(response.body.name, 'no-key');
    });

    test('bad project bodies and queries answer 400 naming the field, and write nothing', async () => {
      const { app, store } = world;
      const org = await newOrg(store);
      const project = await createProject(app, org.adminKey, 'kept');
      const headers = bearer(org.adminKey);
      const before = await listProjects(app, org.adminKey, '?include_archived=true');

      const creates: [unknown, string | null, string?][] = [
        [{}, 'name', 'missing_required_parameter'],
        [{ name: '' }, 'name'],
        [{ name: '   ' }, 'name'],
        [{ name: 'x'.repeat(257) }, 'name'],
        [{ name: 7 }, 'name'],
        [{ name: 'ok', owner: 'me' }, 'owner', 'unknown_parameter'],
        [{ name: 'ok', residency: 'EU' }, 'residency'],
        [['ok'], null],
        [null, null],
      ];
      for (const [payload, param, code] of creates) {
        const response = await send(app, {
          method: 'POST',
          url: PROJECTS,
          headers: { ...headers, 'content-type': 'application/json' },
          payload: JSON.stringify(payload),
        });
        assertError(response, 400, { param, ...(code ? { code } : {}) });
      }
      const url = `${PROJECTS}/${project}`;
      assertError(await send(app, { method: 'POST', url, headers, payload: { name: '' } }), 400, { param: 'name' });
      assertError(await send(app, { method: 'POST', url, headers, payload: { status: 'archived' } }), 400, {
        param: 'status',
        code: 'unknown_parameter',
      });
      assertError(
        await send(app, { method: 'POST', url: `${url}/service_accounts`, headers, payload: { name: '' } }),
        400,
        { param: 'name' },
      );
      for (const query of ['limit=0', 'limit=101', 'limit=abc', 'after=proj_unknown', 'include_archived=maybe']) {
        const param = query.split('=')[0] as string;
        assertError(await send(app, { method: 'GET', url: `${PROJECTS}?${query}`, headers }), 400, { param });
      }
      assert.deepEqual(await listProjects(app, org.adminKey, '?include_archived=true'), before);
    });

    test('unknown projects answer 404; an archived project gets no service account', async () => {
      const { app, store } = world;
      const org = await newOrg(store);
      const headers = bearer(org.adminKey);
      const unknown = 'proj_000000000000000000000000';
      const requests = [
        { method: 'GET', url: `${PROJECTS}/${unknown}` },
        { method: 'POST', url: `${PROJECTS}/${unknown}`, payload: { name: 'x' } },
        { method: 'POST', url: `${PROJECTS}/${unknown}/archive` },
        { method: 'POST', url: `${PROJECTS}/${unknown}/service_accounts`, payload: { name: 'x' } },
      ] as const;
      for (const request of requests) {
        const response = await send(app, { ...request, headers });
        assertError(response, 404, { param: null, code: 'not_found' });
        assert.ok(response.body.error.message.includes(unknown));
      }
      assert.deepEqual((await listProjects(app, org.adminKey, '?include_archived=true')).data, []);

      const project = await createProject(app, org.adminKey);
      const archived = await send(app, { method: 'POST', url: `${PROJECTS}/${project}/archive`, headers });
      assert.equal(archived.status, 200);
      const refused = await send(app, {
        method: 'POST',
        url: `${PROJECTS}/${project}/service_accounts`,
        headers,
        payload: { name: 'late' },
      });
      assertError(refused, 400, { param: 'project_id' });
    });
  });
}
