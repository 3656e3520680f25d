import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.ts';
import type { SeedDocumentWire } from '../../src/http/schemas-state.ts';
import { backends, openTestStore } from '../support/backends.ts';
import { assertError, send } from '../support/http.ts';
import { bearer } from '../support/world.ts';

/** Emulator mode (`ftshare emulate`): its liberties, its seed and reset, and everything else as the server. */

const SEED_KEY = `sk-admin-${'s'.repeat(40)}`;
const SEED: SeedDocumentWire = {
  ftshare_state: 1,
  organizations: [
    {
      organization: { id: 'org-default', name: 'Seeded default', created_at: 1_700_000_000 },
      projects: [
        { id: 'proj_seed', name: 'Seeded', external_key_id: null, created_at: 1_700_000_001, archived_at: null },
      ],
      api_keys: [
        {
          id: 'key_seed',
          kind: 'admin',
          project_id: null,
          service_account_id: null,
          name: 'seeded admin key',
          secret: SEED_KEY,
          created_at: 1_700_000_002,
          expires_at: null,
          last_used_at: null,
          revoked_at: null,
        },
      ],
    },
  ],
};

for (const backend of await backends()) {
  describe(`emulator (${backend.name})`, () => {
    let ctx: Awaited<ReturnType<typeof openTestStore>>;
    let app: FastifyInstance;
    before(async () => {
      ctx = await openTestStore(backend);
      app = (await buildApp({ store: ctx.store, emulator: { seed: SEED } })) as unknown as FastifyInstance;
    });
    after(async () => {
      await app.close();
      await ctx.dispose();
    });
    const any = bearer('My Admin API Key');

    test('any bearer that is not a known key is an admin of the default organization, spaces included', async () => {
      const response = await send(app, { method: 'GET', url: '/v1/organization/projects', headers: any });
      assert.equal(response.status, 200, JSON.stringify(response.body));
      assert.ok(response.body.data.some((p: { id: string }) => p.id === 'proj_seed'));
      const missing = await send(app, { method: 'GET', url: '/v1/organization/projects' });
      assertError(missing, 401, { code: 'missing_api_key' });
    });

    test('what a request names springs into being, with that name as its id', async () => {
      const project = await send(app, { method: 'GET', url: '/v1/organization/projects/project_id', headers: any });
      assert.equal(project.status, 200);
      assert.equal(project.body.id, 'project_id');
      const grant = await send(app, {
        method: 'POST',
        url: '/v1/fine_tuning/checkpoints/ft:gpt-4o-mini:org:x:abc/permissions',
        headers: any,
        payload: { project_ids: ['string'] },
      });
      assert.equal(grant.status, 200, JSON.stringify(grant.body));
      const listed = await send(app, {
        method: 'GET',
        url: '/v1/fine_tuning/checkpoints/ft:gpt-4o-mini:org:x:abc/permissions',
        headers: any,
      });
      assert.deepEqual(
        listed.body.data.map((p: { project_id: string }) => p.project_id),
        ['string'],
      );
      const account = await send(app, {
        method: 'GET',
        url: '/v1/organization/projects/project_id/service_accounts/service_account_id',
        headers: any,
      });
      assert.equal(account.body.id, 'service_account_id');
    });

    test('deleting what does not exist succeeds with the normal body; an unknown route stays 404', async () => {
      const deleted = await send(app, {
        method: 'DELETE',
        url: '/v1/organization/admin_api_keys/key_nothing',
        headers: any,
      });
      assert.equal(deleted.status, 200);
      assert.deepEqual(deleted.body, {
        id: 'key_nothing',
        object: 'organization.admin_api_key.deleted',
        deleted: true,
      });
      const revoke = await send(app, {
        method: 'DELETE',
        url: '/v1/fine_tuning/checkpoints/ft:none:x:y:z/permissions/cp_nothing',
        headers: any,
      });
      assert.deepEqual(revoke.body, { object: 'checkpoint.permission', id: 'cp_nothing', deleted: true });
      const unknown = await send(app, { method: 'GET', url: '/_stainless_unknown_path', headers: any });
      assertError(unknown, 404, { message: 'Invalid URL (GET /_stainless_unknown_path)' });
    });

    test('validation is the real server’s', async () => {
      const response = await send(app, {
        method: 'POST',
        url: '/v1/organization/projects',
        headers: any,
        payload: { name: 'x', surprise: true },
      });
      assertError(response, 400, { code: 'unknown_parameter', param: 'surprise' });
    });

    test('a seeded key is a known key: deleted, it answers 401 as on the real server', async () => {
      const ok = await send(app, {
        method: 'GET',
        url: '/v1/organization/admin_api_keys/key_seed',
        headers: bearer(SEED_KEY),
      });
      assert.equal(ok.status, 200);
      await send(app, { method: 'DELETE', url: '/v1/organization/admin_api_keys/key_seed', headers: any });
      const gone = await send(app, { method: 'GET', url: '/v1/organization/projects', headers: bearer(SEED_KEY) });
      assertError(gone, 401, { code: 'invalid_api_key' });
    });

    test('reset restores the seed; state dumps every organization in the seed format', async () => {
      await send(app, { method: 'POST', url: '/v1/organization/projects', headers: any, payload: { name: 'extra' } });
      const reset = await send(app, { method: 'POST', url: '/__ftshare/reset' });
      assert.equal(reset.status, 200, JSON.stringify(reset.body));
      const state = await send(app, { method: 'GET', url: '/__ftshare/state' });
      assert.equal(state.status, 200);
      const [org] = state.body.organizations;
      assert.equal(org.organization.id, 'org-default');
      assert.deepEqual(
        org.projects.map((p: { id: string }) => p.id),
        ['proj_seed'],
      );
      const again = await send(app, { method: 'GET', url: '/v1/organization/projects', headers: bearer(SEED_KEY) });
      assert.equal(again.status, 200, 'the seeded key works again after a reset');
    });
  });
}
