import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { backends, openTestStore } from '../support/backends.ts';
import { addAdminKey, assertError, send, serviceAccount, sharedCheckpoint, useWorld } from '../support/http.ts';
import { bearer, newOrg, testApp } from '../support/world.ts';

/** Export and import (ftshare extensions): an organization's whole state, out and back in. */

async function exportOf(app: FastifyInstance, key: string) {
  const response = await send(app, { method: 'GET', url: '/v1/organization/export', headers: bearer(key) });
  assert.equal(response.status, 200, JSON.stringify(response.body));
  assert.match(String(response.headers['content-type']), /^application\/json/);
  return response.body;
}

async function importInto(app: FastifyInstance, key: string, document: unknown) {
  return send(app, {
    method: 'POST',
    url: '/v1/organization/import',
    headers: bearer(key),
    payload: document as object,
  });
}

/** The records of an export, without its organization header (which names the exporting organization). */
const records = (document: Record<string, unknown>) => {
  const { organization: _organization, ...rest } = document;
  return rest;
};

for (const backend of await backends()) {
  describe(`export and import (${backend.name})`, () => {
    const world = useWorld(backend);

    test('an export holds every kind of record, ids, timestamps and key hashes, and never a secret', async () => {
      const shared = await sharedCheckpoint(world.app, world.store);
      const account = await serviceAccount(world.app, shared.org.adminKey, shared.owner);
      await send(world.app, {
        method: 'POST',
        url: `/v1/organization/projects/${shared.grantee}/model_permissions`,
        headers: bearer(shared.org.adminKey),
        payload: { mode: 'deny_list', model_ids: ['gpt-4o'] },
      });
      const doc = await exportOf(world.app, shared.org.adminKey);
      assert.equal(doc.ftshare_state, 1);
      assert.equal(doc.organization.id, shared.org.orgId);
      assert.deepEqual(
        doc.projects.map((p: { id: string }) => p.id),
        [shared.owner, shared.grantee],
      );
      assert.deepEqual(
        doc.permissions.map((p: { id: string }) => p.id),
        [shared.permission],
      );
      assert.equal(doc.checkpoints[0].name, shared.checkpoint);
      assert.deepEqual(doc.model_permissions[0].model_ids, ['gpt-4o']);
      assert.ok(doc.service_accounts.some((a: { id: string }) => a.id === account.id));
      assert.ok(doc.audit_events.length > 0);
      const text = JSON.stringify(doc);
      for (const secret of [shared.org.adminKey, account.secret]) assert.ok(!text.includes(secret), 'a secret leaked');
      for (const key of doc.api_keys) assert.match(key.hash, /^[0-9a-f]{64}$/);
    });

    test('imported into another store, the state is the same, keys keep working, and importing again inserts nothing', async () => {
      const shared = await sharedCheckpoint(world.app, world.store);
      const account = await serviceAccount(world.app, shared.org.adminKey, shared.grantee);
      const exported = await exportOf(world.app, shared.org.adminKey);

      const target = await openTestStore(backend);
      const app = await testApp(target.store);
      try {
        const org = await newOrg(target.store);
        const first = await importInto(app, org.adminKey, exported);
        assert.equal(first.status, 200, JSON.stringify(first.body));
        assert.equal(first.body.object, 'organization.import');
        assert.equal(first.body.inserted.permissions, 1);
        assert.equal(first.body.inserted.projects, 2);

        // The imported organization's own key was there before; every other record is the exporter's.
        const again = await exportOf(app, org.adminKey);
        const minusOwnKey = (doc: Record<string, unknown>) => ({
          ...records(doc),
          api_keys: (doc.api_keys as { name: string }[]).filter((k) => k.name !== 'Initial admin key'),
          // The import itself is an event of the importing organization.
          audit_events: (doc.audit_events as { type: string }[]).filter(
            (e) => e.type !== 'organization.imported' && e.type !== 'api_key.created',
          ),
        });
        assert.deepEqual(minusOwnKey(again), minusOwnKey(exported));

        // The exporter's keys work against the new store: its project key sees the shared checkpoint.
        const models = await send(app, { method: 'GET', url: '/v1/models', headers: bearer(account.secret) });
        assert.equal(models.status, 200, JSON.stringify(models.body));
        assert.deepEqual(
          models.body.data.map((m: { id: string }) => m.id),
          [shared.checkpoint],
        );

        const second = await importInto(app, org.adminKey, exported);
        assert.equal(second.status, 200);
        assert.ok(
          Object.values(second.body.inserted).every((n) => n === 0),
          JSON.stringify(second.body),
        );
        assert.deepEqual(second.body.skipped.permissions, 1);
      } finally {
        await app.close();
        await target.dispose();
      }
    });

    test('an import naming another organization’s ids is refused whole (400 import_conflict), nothing changed', async () => {
      const shared = await sharedCheckpoint(world.app, world.store);
      const exported = await exportOf(world.app, shared.org.adminKey);
      const stranger = await newOrg(world.store);
      const before = await exportOf(world.app, stranger.adminKey);
      const response = await importInto(world.app, stranger.adminKey, {
        ...records(exported),
        organization: undefined,
      });
      assertError(response, 400, { code: 'import_conflict' });
      assert.deepEqual(await exportOf(world.app, stranger.adminKey), before);
      // A permission of a project the importer does not have is refused too.
      const dangling = await importInto(world.app, stranger.adminKey, {
        checkpoints: [{ name: 'ft:x:y', project_id: shared.owner, created_at: 1 }],
      });
      assertError(dangling, 400, { code: 'import_conflict', param: 'checkpoints' });
    });

    test('import validates every record, and keys need exactly one of hash and secret', async () => {
      const org = await newOrg(world.store);
      const bad = await importInto(world.app, org.adminKey, { projects: [{ id: 'proj_x', name: '', created_at: 1 }] });
      assertError(bad, 400);
      const both = await importInto(world.app, org.adminKey, {
        api_keys: [
          {
            id: 'key_x',
            kind: 'admin',
            project_id: null,
            service_account_id: null,
            name: 'k',
            created_at: 1,
            expires_at: null,
            last_used_at: null,
            revoked_at: null,
          },
        ],
      });
      assertError(both, 400, { param: 'api_keys' });
      const extra = await addAdminKey(world.app, org.adminKey);
      assert.ok(extra.id);
    });
  });
}
