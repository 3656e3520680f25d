import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { mintKey } from '../../src/domain/keys.ts';
import { newId } from '../../src/ids.ts';
import type { ApiKey, ServiceAccount, Store, WriteMeta } from '../../src/storage/store.ts';
import { backends, openTestStore } from '../support/backends.ts';

/**
 * The Store contract, continued (test/storage/store.contract.test.ts has the first part): admin
 * keys, service accounts, project keys, model rules, the reads behind the access decision, and
 * which writes count as changes (`onChange`, and `accessVersions` where replicas share the store).
 */

const NOW = 1_700_000_000;
const meta = (at = NOW): WriteMeta => ({ actor: null, now: at });

function adminKey(orgId: string, overrides: Partial<ApiKey> = {}): ApiKey {
  const minted = mintKey('admin');
  return {
    id: newId.apiKey(),
    orgId,
    projectId: null,
    kind: 'admin',
    name: 'k',
    hash: minted.hash,
    redacted: minted.redacted,
    createdAt: NOW,
    revokedAt: null,
    serviceAccountId: null,
    expiresAt: null,
    lastUsedAt: null,
    ...overrides,
  };
}

function projectKey(account: ServiceAccount): ApiKey & { serviceAccountId: string; projectId: string } {
  const minted = mintKey('project');
  return {
    id: newId.apiKey(),
    orgId: account.orgId,
    projectId: account.projectId,
    kind: 'project' as const,
    name: 'Secret Key',
    hash: minted.hash,
    redacted: minted.redacted,
    createdAt: NOW,
    revokedAt: null,
    serviceAccountId: account.id,
    expiresAt: null,
    lastUsedAt: null,
  };
}

for (const backend of await backends()) {
  describe(`store contract: keys, service accounts, model rules, access (${backend.name})`, () => {
    let store: Store;
    let dispose: () => Promise<void>;
    /** Changes heard through `onChange`, per organization. */
    const heard = new Map<string, number>();
    before(async () => {
      ({ store, dispose } = await openTestStore(backend));
      store.onChange((orgId) => heard.set(orgId, (heard.get(orgId) ?? 0) + 1));
    });
    after(async () => dispose());

    async function org(): Promise<string> {
      const id = newId.organization();
      await store.createOrganization({ id, name: id, createdAt: NOW }, null, meta());
      return id;
    }

    async function project(orgId: string): Promise<string> {
      const id = newId.project();
      await store.createProject({ id, orgId, name: id, externalKeyId: null, createdAt: NOW, archivedAt: null }, meta());
      return id;
    }

    async function account(orgId: string, projectId: string, withKey = true) {
      const sa: ServiceAccount = {
        id: newId.serviceAccount(),
        orgId,
        projectId,
        name: 'sa',
        createdAt: NOW,
        role: withKey ? 'member' : 'none',
      };
      const key = withKey ? projectKey(sa) : null;
      assert.equal(await store.createServiceAccount(sa, key, meta()), 'created');
      return { sa, key };
    }

    /** How many changes `orgId` has seen: `onChange` calls, and for shared stores its access version too. */
    async function changes(orgId: string): Promise<number> {
      const local = heard.get(orgId) ?? 0;
      if (store.writers === 'shared') {
        const version = (await store.accessVersions([orgId])).get(orgId);
        assert.equal(version, local, 'the access version counts the same changes onChange hears');
      }
      return local;
    }

    test('admin keys: list asc/desc with cursors, deleted ones gone, expired ones listed', async () => {
      const o = await org();
      const keys = [0, 1, 2, 3].map((i) => adminKey(o, { createdAt: NOW + i }));
      for (const key of keys) assert.equal(await store.addApiKey(key, meta()), true);
      const expired = adminKey(o, { createdAt: NOW + 4, expiresAt: NOW + 5 });
      await store.addApiKey(expired, meta());
      const all = [...keys, expired].map((k) => k.id);

      const asc = await store.listAdminKeys(o, { limit: 10, order: 'asc' });
      assert.ok(asc !== 'unknown_cursor');
      assert.deepEqual(
        asc.items.map((k) => k.id),
        all,
      );
      const desc = await store.listAdminKeys(o, { limit: 2, order: 'desc', after: all[3] as string });
      assert.ok(desc !== 'unknown_cursor');
      assert.deepEqual([desc.items.map((k) => k.id), desc.hasMore], [[all[2], all[1]], true]);
      assert.deepEqual(await store.getAdminKey(o, expired.id), expired);

      assert.equal(await store.deleteAdminKey(o, all[1] as string, meta(NOW + 10)), 'deleted');
      assert.equal(await store.deleteAdminKey(o, all[1] as string, meta(NOW + 10)), 'not_found');
      assert.equal(await store.getAdminKey(o, all[1] as string), undefined);
      assert.equal(
        await store.listAdminKeys(o, { limit: 10, order: 'asc', after: all[1] as string }),
        'unknown_cursor',
      );
      assert.equal(
        await store.listAdminKeys(await org(), { limit: 10, order: 'asc', after: all[0] as string }),
        'unknown_cursor',
      );
      // A deleted key is still found by its hash (its hash stays taken), marked deleted.
      const found = await store.findApiKeyByHash(keys[1]?.hash ?? '');
      assert.equal(found?.revokedAt, NOW + 10);
      assert.equal(await store.addApiKey({ ...adminKey(o), hash: keys[1]?.hash ?? '' }, meta()), false);
    });

    test('adding one key at once from many places inserts it once, and fails none (replicas starting together)', async () => {
      const o = await org();
      const old = adminKey(o, { name: 'FTSHARE_ADMIN_KEY' });
      await store.addApiKey(old, meta());
      const key = adminKey(o, { name: 'FTSHARE_ADMIN_KEY' });
      // Each replica mints its own id for the same configured secret (the same hash).
      const outcomes = await Promise.all(
        Array.from({ length: 10 }, () => store.addApiKey({ ...key, id: newId.apiKey() }, meta(), 'FTSHARE_ADMIN_KEY')),
      );
      assert.equal(outcomes.filter(Boolean).length, 1, `outcomes ${outcomes}`);
      const page = await store.listAdminKeys(o, { limit: 100, order: 'asc' });
      assert.ok(page !== 'unknown_cursor');
      assert.deepEqual(
        page.items.map((k) => k.hash),
        [key.hash],
        'the key it replaced is deleted, the new one is there once',
      );
      assert.equal((await store.findApiKeyByHash(old.hash))?.revokedAt, NOW);
    });

    test('deleteAdminKey refuses the last active key; expired keys are not active', async () => {
      const o = await org();
      const [a, b] = [adminKey(o), adminKey(o, { expiresAt: NOW + 100 })];
      await store.addApiKey(a, meta());
      await store.addApiKey(b, meta());
      const before = await store.countActiveAdminKeys(NOW + 50);
      assert.equal((await store.countActiveAdminKeys(NOW + 100)) - before, -1, 'b stops counting at its expiry');
      assert.equal(await store.deleteAdminKey(o, a.id, meta(NOW + 100)), 'last_active_key', 'b is expired by then');
      assert.equal(await store.deleteAdminKey(o, b.id, meta(NOW + 100)), 'deleted', 'an expired key may go');
      const c = adminKey(o);
      await store.addApiKey(c, meta());
      assert.equal(await store.deleteAdminKey(o, a.id, meta(NOW + 100)), 'deleted');
      assert.equal(await store.deleteAdminKey(o, c.id, meta(NOW + 100)), 'last_active_key');
      assert.equal(await store.deleteAdminKey(await org(), c.id, meta()), 'not_found');
    });

    test('two concurrent deletes of an organization’s last two admin keys leave one', async () => {
      const o = await org();
      const [a, b] = [adminKey(o), adminKey(o)];
      await store.addApiKey(a, meta());
      await store.addApiKey(b, meta());
      const outcomes = await Promise.all([
        store.deleteAdminKey(o, a.id, meta()),
        store.deleteAdminKey(o, b.id, meta()),
      ]);
      assert.deepEqual([...outcomes].sort(), ['deleted', 'last_active_key']);
      const page = await store.listAdminKeys(o, { limit: 10, order: 'asc' });
      assert.ok(page !== 'unknown_cursor');
      assert.equal(page.items.length, 1);
    });

    test('service accounts: create with or without a key, list, get, update, delete with their keys', async () => {
      const o = await org();
      const p = await project(o);
      const { sa, key } = await account(o, p);
      const keyless = await account(o, p, false);
      assert.equal(keyless.key, null);
      assert.deepEqual(await store.getServiceAccount(o, p, sa.id), sa);
      assert.equal(await store.getServiceAccount(o, await project(o), sa.id), undefined, 'another project’s');
      const page = await store.listServiceAccounts(o, p, { limit: 1 });
      assert.ok(page !== 'unknown_cursor' && page !== 'project_not_found');
      assert.equal(page.hasMore, true);
      const next = await store.listServiceAccounts(o, p, { limit: 1, after: page.items[0]?.id as string });
      assert.ok(next !== 'unknown_cursor' && next !== 'project_not_found');
      assert.deepEqual([...page.items, ...next.items].map((a) => a.id).sort(), [sa.id, keyless.sa.id].sort());
      assert.equal(await store.listServiceAccounts(o, 'proj_missing', { limit: 1 }), 'project_not_found');
      assert.equal(await store.listServiceAccounts(o, p, { limit: 1, after: 'svc_acct_x' }), 'unknown_cursor');

      assert.deepEqual(await store.updateServiceAccount(o, p, sa.id, { role: 'owner' }, meta()), {
        ...sa,
        role: 'owner',
      });
      assert.deepEqual(await store.updateServiceAccount(o, p, sa.id, { name: 'n' }, meta()), {
        ...sa,
        role: 'owner',
        name: 'n',
      });
      assert.equal(await store.updateServiceAccount(o, p, 'svc_acct_x', { name: 'n' }, meta()), 'not_found');

      const second = projectKey(sa);
      assert.equal(await store.addServiceAccountKey(second, ['api.model.read'], meta()), 'created');
      assert.equal(await store.deleteServiceAccount(o, p, sa.id, meta(NOW + 1)), 'deleted');
      for (const k of [key, second]) assert.equal((await store.findApiKeyByHash(k?.hash ?? ''))?.revokedAt, NOW + 1);
      assert.equal(await store.getServiceAccount(o, p, sa.id), undefined);
      assert.equal(await store.deleteServiceAccount(o, p, sa.id, meta()), 'not_found');
      assert.equal(await store.addServiceAccountKey(projectKey(sa), [], meta()), 'not_found');
      const keys = await store.listProjectKeys(o, p, { limit: 10 });
      assert.ok(keys !== 'unknown_cursor' && keys !== 'project_not_found');
      assert.deepEqual(keys.items, []);
    });

    test('keys added while their account is deleted do not outlive it', async () => {
      for (let round = 0; round < 10; round++) {
        const o = await org();
        const p = await project(o);
        const { sa } = await account(o, p, false);
        const keys = Array.from({ length: 5 }, () => projectKey(sa));
        const outcomes = await Promise.all([
          ...keys.slice(0, 2).map((k) => store.addServiceAccountKey(k, [], meta())),
          store.deleteServiceAccount(o, p, sa.id, meta(NOW + 1)),
          ...keys.slice(2).map((k) => store.addServiceAccountKey(k, [], meta())),
        ]);
        assert.equal(outcomes[2], 'deleted');
        for (const [i, k] of keys.entries()) {
          const found = await store.findApiKeyByHash(k.hash);
          const outcome = outcomes[i < 2 ? i : i + 1];
          // Either it was added before the delete (and died with the account), or refused after it.
          if (outcome === 'created')
            assert.equal(found?.revokedAt, NOW + 1, `round ${round}: key ${i} outlived its account`);
          else assert.deepEqual([outcome, found], ['not_found', undefined]);
        }
      }
    });

    test('an archived project: no account, update or key; its keys read as archived; delete still works', async () => {
      const o = await org();
      const p = await project(o);
      const { sa, key } = await account(o, p);
      await store.archiveProject(o, p, meta());
      assert.equal((await store.findApiKeyByHash(key?.hash ?? ''))?.projectArchived, true);
      const fresh: ServiceAccount = { ...sa, id: newId.serviceAccount() };
      assert.equal(await store.createServiceAccount(fresh, null, meta()), 'project_archived');
      assert.equal(await store.updateServiceAccount(o, p, sa.id, { name: 'x' }, meta()), 'project_archived');
      assert.equal(await store.addServiceAccountKey(projectKey(sa), [], meta()), 'project_archived');
      assert.equal(
        await store.createServiceAccount({ ...fresh, projectId: 'proj_missing' }, null, meta()),
        'project_not_found',
      );
      assert.equal(await store.deleteServiceAccount(o, p, sa.id, meta()), 'deleted');
    });

    test('project keys: list and get with their owner, update expiry (null clears), delete once', async () => {
      const o = await org();
      const p = await project(o);
      const { sa, key } = await account(o, p);
      assert.ok(key);
      const got = await store.getProjectKey(o, p, key.id);
      assert.deepEqual(got, { ...key, owner: sa });
      assert.equal(await store.getProjectKey(o, await project(o), key.id), undefined);

      const expiring = await store.updateProjectKey(o, p, key.id, { expiresAt: NOW + 60 }, meta());
      assert.equal(expiring?.expiresAt, NOW + 60);
      assert.equal((await store.findApiKeyByHash(key.hash))?.expiresAt, NOW + 60);
      const cleared = await store.updateProjectKey(o, p, key.id, { expiresAt: null }, meta());
      assert.equal(cleared?.expiresAt, null, 'the answer shows the cleared expiry');
      assert.equal((await store.getProjectKey(o, p, key.id))?.expiresAt, null);
      assert.deepEqual(await store.updateProjectKey(o, p, key.id, { scopes: ['x'] }, meta()), { ...key, owner: sa });
      assert.equal(await store.updateProjectKey(o, p, 'key_missing', { expiresAt: null }, meta()), undefined);

      assert.equal(await store.deleteProjectKey(o, p, key.id, meta()), true);
      assert.equal(await store.deleteProjectKey(o, p, key.id, meta()), false);
      assert.equal(await store.getProjectKey(o, p, key.id), undefined);
      assert.equal(await store.listProjectKeys(o, p, { limit: 5, after: key.id }), 'unknown_cursor');
      assert.equal(await store.listProjectKeys(o, 'proj_missing', { limit: 5 }), 'project_not_found');
    });

    test('touchApiKeys records last use, only forwards, and is no change to anyone’s access', async () => {
      const o = await org();
      const key = adminKey(o);
      await store.addApiKey(key, meta());
      const before = await changes(o);
      await store.touchApiKeys(new Map([[key.id, NOW + 20]]));
      assert.equal((await store.getAdminKey(o, key.id))?.lastUsedAt, NOW + 20);
      await store.touchApiKeys(new Map([[key.id, NOW + 10]]));
      assert.equal((await store.getAdminKey(o, key.id))?.lastUsedAt, NOW + 20, 'never backwards');
      await store.touchApiKeys(new Map());
      const events = await store.listAuditEvents(o, { limit: 100 });
      assert.ok(events !== 'unknown_cursor');
      assert.ok(!events.items.some((e) => e.type === 'api_key.updated'));
      assert.equal(await changes(o), before);
    });

    test('model rules: none, set (replaced whole), delete (none is fine); unknown projects refused', async () => {
      const o = await org();
      const p = await project(o);
      assert.equal(await store.getModelRule(o, p), null);
      assert.equal(await store.setModelRule(o, p, { mode: 'allow_list', modelIds: ['a', 'b'] }, meta()), true);
      assert.deepEqual(await store.getModelRule(o, p), { mode: 'allow_list', modelIds: ['a', 'b'] });
      assert.equal(await store.setModelRule(o, p, { mode: 'deny_list', modelIds: [] }, meta()), true);
      assert.deepEqual(await store.getModelRule(o, p), { mode: 'deny_list', modelIds: [] });
      assert.equal(await store.deleteModelRule(o, p, meta()), true);
      assert.equal(await store.getModelRule(o, p), null);
      assert.equal(await store.deleteModelRule(o, p, meta()), true);
      const other = await org();
      assert.equal(await store.getModelRule(other, p), 'project_not_found');
      assert.equal(await store.setModelRule(other, p, { mode: 'deny_list', modelIds: [] }, meta()), false);
      assert.equal(await store.deleteModelRule(other, p, meta()), false);
    });

    test('projectAccess, existingCheckpoints and allCheckpoints: what the decision reads', async () => {
      const o = await org();
      const [owner, grantee] = [await project(o), await project(o)];
      const names = ['ft:x:3', 'ft:x:1', 'ft:x:2'];
      for (const [i, name] of names.entries()) {
        await store.registerCheckpoint(
          { orgId: o, name, projectId: i === 1 ? grantee : owner, createdAt: NOW + i },
          meta(),
        );
      }
      // Granted in the reverse of registration order: the shared list still follows registration.
      for (const name of ['ft:x:2', 'ft:x:3']) {
        const granted = await store.grantPermissions({
          orgId: o,
          checkpoint: name,
          projectIds: [grantee],
          newPermissionId: newId.permission,
          now: () => NOW,
          actor: null,
        });
        assert.ok(Array.isArray(granted));
      }
      await store.setModelRule(o, grantee, { mode: 'deny_list', modelIds: ['ft:x:3'] }, meta());
      const checkpoint = (name: string, i: number, projectId: string) => ({
        orgId: o,
        name,
        projectId,
        createdAt: NOW + i,
      });
      assert.deepEqual(await store.projectAccess(o, grantee), {
        archived: false,
        owned: [checkpoint('ft:x:1', 1, grantee)],
        shared: [checkpoint('ft:x:3', 0, owner), checkpoint('ft:x:2', 2, owner)],
        rule: { mode: 'deny_list', modelIds: ['ft:x:3'] },
      });
      assert.deepEqual(await store.projectAccess(o, owner), {
        archived: false,
        owned: [checkpoint('ft:x:3', 0, owner), checkpoint('ft:x:2', 2, owner)],
        shared: [],
        rule: null,
      });
      await store.archiveProject(o, owner, meta());
      assert.equal((await store.projectAccess(o, owner))?.archived, true);
      assert.equal(await store.projectAccess(o, 'proj_missing'), undefined);
      const other = await org();
      assert.equal(await store.projectAccess(other, grantee), undefined);

      assert.deepEqual(
        (await store.allCheckpoints(o)).map((c) => c.name),
        names,
      );
      assert.deepEqual([...(await store.existingCheckpoints(o, ['ft:x:2', 'ft:nope', 'ft:x:1']))].sort(), [
        'ft:x:1',
        'ft:x:2',
      ]);
      assert.deepEqual([...(await store.existingCheckpoints(other, names))], []);
      assert.deepEqual([...(await store.existingCheckpoints(o, []))], []);

      // Deleting a checkpoint takes its grant out of the grantee's access.
      await store.deleteCheckpoint(o, 'ft:x:2', meta());
      assert.deepEqual(
        (await store.projectAccess(o, grantee))?.shared.map((c) => c.name),
        ['ft:x:3'],
      );
    });

    test('every changing write is one change of its organization only; a write that changes nothing is none', async () => {
      const o = await org();
      const bystander = await org();
      const quiet = await changes(bystander);
      const p = await project(o);
      let count = await changes(o);
      const expectChange = async (what: string, n = 1) => {
        const now = await changes(o);
        assert.equal(now - count, n, what);
        count = now;
      };
      const { sa, key } = await account(o, p);
      await expectChange('a service account with its key');
      await store.setModelRule(o, p, { mode: 'deny_list', modelIds: ['a'] }, meta());
      await expectChange('a rule set');
      await store.setModelRule(o, p, { mode: 'deny_list', modelIds: ['a'] }, meta());
      await expectChange('the same rule again', 0);
      await store.deleteModelRule(o, p, meta());
      await expectChange('a rule deleted');
      await store.deleteModelRule(o, p, meta());
      await expectChange('no rule deleted', 0);
      await store.registerCheckpoint({ orgId: o, name: 'ft:c', projectId: p, createdAt: NOW }, meta());
      await expectChange('a checkpoint registered');
      await store.registerCheckpoint({ orgId: o, name: 'ft:c', projectId: p, createdAt: NOW }, meta());
      await expectChange('the same checkpoint registered again', 0);
      await store.updateServiceAccount(o, p, sa.id, { name: sa.name }, meta());
      await expectChange('an update to the same name', 0);
      await store.updateProjectKey(o, p, key?.id ?? '', { expiresAt: NOW + 5 }, meta());
      await expectChange('a key’s expiry');
      await store.deleteProjectKey(o, p, key?.id ?? '', meta());
      await expectChange('a key deleted');
      await store.deleteProjectKey(o, p, key?.id ?? '', meta());
      await expectChange('a key deleted twice', 0);
      await store.deleteServiceAccount(o, p, sa.id, meta());
      await expectChange('a service account deleted');
      await store.deleteCheckpoint(o, 'ft:c', meta());
      await expectChange('a checkpoint deleted');
      await store.archiveProject(o, p, meta());
      await expectChange('a project archived');
      await store.touchApiKeys(new Map([[key?.id ?? '', NOW]]));
      await expectChange('a key used', 0);
      assert.equal(await changes(bystander), quiet, 'another organization saw none of it');
    });
  });
}
