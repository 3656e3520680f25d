import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { postgresOnly, type TestDatabase } from '../support/backends.ts';
import { Client, checkpointName, permissionsPath, ReplicaSet } from '../support/replicas.ts';

/**
 * Issue "Grants take effect", CONTRACT §4/§5a: a change acknowledged by replica A is in force on
 * replica B's NEXT request, for every kind of change that decides access — although B answered the
 * same question just before (and so holds it in its caches). No polling, no retry, no sleep.
 */
const postgres = await postgresOnly('the access-change replica runs (test/replicas/access-changes.test.ts)');

const BASE = ['gpt-4o-mini', 'meta-llama/Llama-3.1-8B'];
const modelPath = (model: string) => `/v1/models/${encodeURIComponent(model)}`;

type Seen = { retrieve: number; listed: boolean; reason: string };

if (postgres) {
  describe('every access change is in force on the other replica’s next request', { timeout: 120_000 }, () => {
    const replicas = new ReplicaSet();
    let database: TestDatabase;
    let a: Client;
    let b: Client;

    before(async () => {
      database = await postgres.createDatabase();
      [a, b] = (await replicas.start(2, database, {
        env: { FTSHARE_BASE_MODELS: BASE.join(',') },
        startTimeoutMs: 60_000,
      })) as [Client, Client];
    });

    after(async () => {
      await replicas.closeAll();
      await database?.drop();
    });

    /** A key's client on replica B (or A). */
    const as = (replica: Client, key: string) => new Client(replica.server, key);

    /** A service account of `projectId`, made on replica A: its ids and key. */
    async function account(projectId: string) {
      const body = await a.ok('POST', `/v1/organization/projects/${projectId}/service_accounts`, { name: 'ci' });
      return { id: body.id as string, keyId: body.api_key.id as string, secret: body.api_key.value as string };
    }

    /** An owner with a checkpoint and a grantee with a key, all made on replica A. */
    async function fixture() {
      const owner = await a.createProject('owner');
      const grantee = await a.createProject('grantee');
      const checkpoint = checkpointName();
      await a.registerCheckpoint(checkpoint, owner);
      const ownerAccount = await account(owner);
      const granteeAccount = await account(grantee);
      return { owner, grantee, checkpoint, ownerAccount, granteeAccount };
    }

    /** What replica B answers about `model` for `projectId` and its `key`: retrieve, list, model_access. */
    async function onB(key: string, projectId: string, model: string): Promise<Seen> {
      const client = as(b, key);
      const retrieve = (await client.request('GET', modelPath(model))).status;
      const list = await client.request('GET', '/v1/models');
      const listed = list.status === 200 && list.body.data.some((m: { id: string }) => m.id === model);
      const access = await b.ok('POST', '/v1/organization/model_access', {
        checks: [{ project_id: projectId, model }],
      });
      return { retrieve, listed, reason: access.data[0].reason };
    }

    const allowed = (reason: string): Seen => ({ retrieve: 200, listed: true, reason });
    const refused = (reason: string): Seen => ({ retrieve: 404, listed: false, reason });

    /** B's next request with `key`, on any route, is a 401 invalid_api_key. */
    async function rejectedOnB(key: string, path = '/v1/models'): Promise<void> {
      const reply = await as(b, key).request('GET', path);
      assert.equal(reply.status, 401, JSON.stringify(reply.body));
      assert.equal(reply.body.error.code, 'invalid_api_key');
    }

    test('grant', async () => {
      const f = await fixture();
      assert.deepEqual(await onB(f.granteeAccount.secret, f.grantee, f.checkpoint), refused('not_shared'));
      const granted = await a.grant(f.checkpoint, [f.grantee]);
      assert.equal(granted.status, 200);
      assert.deepEqual(await onB(f.granteeAccount.secret, f.grantee, f.checkpoint), allowed('shared'));
    });

    test('revoke', async () => {
      const f = await fixture();
      const permission = (await a.grant(f.checkpoint, [f.grantee])).body.data[0].id;
      assert.deepEqual(await onB(f.granteeAccount.secret, f.grantee, f.checkpoint), allowed('shared'));
      await a.ok('DELETE', `${permissionsPath(f.checkpoint)}/${permission}`);
      assert.deepEqual(await onB(f.granteeAccount.secret, f.grantee, f.checkpoint), refused('not_shared'));
    });

    test('deny list set', async () => {
      const f = await fixture();
      await a.grant(f.checkpoint, [f.grantee]);
      assert.deepEqual(await onB(f.granteeAccount.secret, f.grantee, f.checkpoint), allowed('shared'));
      await a.ok('POST', `/v1/organization/projects/${f.grantee}/model_permissions`, {
        mode: 'deny_list',
        model_ids: [f.checkpoint],
      });
      assert.deepEqual(await onB(f.granteeAccount.secret, f.grantee, f.checkpoint), refused('denied'));
    });

    test('allow list set', async () => {
      const f = await fixture();
      await a.grant(f.checkpoint, [f.grantee]);
      const base = BASE[1] as string;
      assert.deepEqual(await onB(f.granteeAccount.secret, f.grantee, base), allowed('base'));
      assert.deepEqual(await onB(f.granteeAccount.secret, f.grantee, f.checkpoint), allowed('shared'));
      await a.ok('POST', `/v1/organization/projects/${f.grantee}/model_permissions`, {
        mode: 'allow_list',
        model_ids: [f.checkpoint],
      });
      assert.deepEqual(await onB(f.granteeAccount.secret, f.grantee, base), refused('not_in_allow_list'));
      assert.deepEqual(await onB(f.granteeAccount.secret, f.grantee, f.checkpoint), allowed('shared'));
    });

    test('rule deleted', async () => {
      const f = await fixture();
      await a.ok('POST', `/v1/organization/projects/${f.owner}/model_permissions`, {
        mode: 'deny_list',
        model_ids: [f.checkpoint],
      });
      assert.deepEqual(await onB(f.ownerAccount.secret, f.owner, f.checkpoint), refused('denied'));
      await a.ok('DELETE', `/v1/organization/projects/${f.owner}/model_permissions`);
      assert.deepEqual(await onB(f.ownerAccount.secret, f.owner, f.checkpoint), allowed('owner'));
    });

    test('project archived: its keys answer 401, model_access says project_archived', async () => {
      const f = await fixture();
      await a.grant(f.checkpoint, [f.grantee]);
      assert.deepEqual(await onB(f.granteeAccount.secret, f.grantee, f.checkpoint), allowed('shared'));
      await a.ok('POST', `/v1/organization/projects/${f.grantee}/archive`);
      await rejectedOnB(f.granteeAccount.secret);
      await rejectedOnB(f.granteeAccount.secret, modelPath(f.checkpoint));
      const access = await b.ok('POST', '/v1/organization/model_access', {
        checks: [{ project_id: f.grantee, model: f.checkpoint }],
      });
      assert.equal(access.data[0].reason, 'project_archived');
    });

    test('project key deleted', async () => {
      const f = await fixture();
      assert.deepEqual(await onB(f.ownerAccount.secret, f.owner, f.checkpoint), allowed('owner'));
      await a.ok('DELETE', `/v1/organization/projects/${f.owner}/api_keys/${f.ownerAccount.keyId}`);
      await rejectedOnB(f.ownerAccount.secret);
    });

    test('service account deleted: every key of it dies', async () => {
      const f = await fixture();
      const second = await a.ok(
        'POST',
        `/v1/organization/projects/${f.owner}/service_accounts/${f.ownerAccount.id}/api_keys`,
        { name: 'second' },
      );
      for (const key of [f.ownerAccount.secret, second.value]) {
        assert.deepEqual(await onB(key, f.owner, f.checkpoint), allowed('owner'));
      }
      await a.ok('DELETE', `/v1/organization/projects/${f.owner}/service_accounts/${f.ownerAccount.id}`);
      await rejectedOnB(f.ownerAccount.secret);
      await rejectedOnB(second.value);
    });

    test('admin key deleted', async () => {
      const created = await a.ok('POST', '/v1/organization/admin_api_keys', { name: 'doomed' });
      const doomed = as(b, created.value);
      // Twice: a key's first use is re-checked on its second anyway; from then on B trusts its memory.
      for (let i = 0; i < 2; i++) assert.equal((await doomed.request('GET', '/v1/organization/projects')).status, 200);
      await a.ok('DELETE', `/v1/organization/admin_api_keys/${created.id}`);
      await rejectedOnB(created.value, '/v1/organization/projects');
    });

    test('admin key expired', async () => {
      // Expiry is the clock, not a write: B must compare a key it holds in memory with the time
      // of each request. A 2-second key, used on B, then refused once its second has passed.
      const created = await a.ok('POST', '/v1/organization/admin_api_keys', { name: 'brief', expires_in_seconds: 2 });
      const expiresAt: number = created.expires_at;
      const first = await as(b, created.value).request('GET', '/v1/organization/projects');
      if (first.status !== 200) {
        // The machine was too slow to use it in time: it must have been refused for its expiry.
        assert.equal(first.status, 401);
        assert.ok(Date.now() / 1000 >= expiresAt, 'refused before it expired');
      }
      const wait = expiresAt * 1000 - Date.now();
      if (wait > 0) await sleep(wait + 20);
      await rejectedOnB(created.value, '/v1/organization/projects');
      // Still listed, with its expiry.
      const listed = await b.ok('GET', '/v1/organization/admin_api_keys?limit=100');
      assert.equal(listed.data.find((k: { id: string }) => k.id === created.id)?.expires_at, expiresAt);
    });

    for (const via of ['/v1/models', '/v1/fine_tuning/checkpoints'] as const) {
      test(`checkpoint deleted (DELETE ${via}/{model})`, async () => {
        const f = await fixture();
        await a.grant(f.checkpoint, [f.grantee]);
        assert.deepEqual(await onB(f.granteeAccount.secret, f.grantee, f.checkpoint), allowed('shared'));
        assert.deepEqual(await onB(f.ownerAccount.secret, f.owner, f.checkpoint), allowed('owner'));
        await a.ok('DELETE', `${via}/${encodeURIComponent(f.checkpoint)}`);
        assert.deepEqual(await onB(f.granteeAccount.secret, f.grantee, f.checkpoint), refused('model_not_found'));
        assert.deepEqual(await onB(f.ownerAccount.secret, f.owner, f.checkpoint), refused('model_not_found'));
        const adminList = await b.ok('GET', '/v1/models');
        assert.ok(!adminList.data.some((m: { id: string }) => m.id === f.checkpoint));
      });
    }

    test('checkpoint registered: its owner may use it at once', async () => {
      const owner = await a.createProject('owner');
      const ownerAccount = await account(owner);
      const checkpoint = checkpointName();
      assert.deepEqual(await onB(ownerAccount.secret, owner, checkpoint), refused('model_not_found'));
      await a.registerCheckpoint(checkpoint, owner);
      assert.deepEqual(await onB(ownerAccount.secret, owner, checkpoint), allowed('owner'));
    });

    test('both replicas serve the same base models', async () => {
      const project = await a.createProject('plain');
      const key = (await account(project)).secret;
      for (const replica of [a, b]) {
        const ids = (await as(replica, key).ok('GET', '/v1/models')).data.map((m: { id: string }) => m.id);
        assert.deepEqual(ids, BASE);
      }
    });
  });
}
