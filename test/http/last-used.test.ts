import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';
import type { Store } from '../../src/storage/store.ts';
import { backends } from '../support/backends.ts';
import { addAdminKey, pinnedClock, send, serviceAccount, useWorld } from '../support/http.ts';
import { adminGet, appWith, auditEvents } from '../support/models.ts';
import { bearer, createProject, newOrg } from '../support/world.ts';

/** `store`, with every `touchApiKeys` call recorded (non-empty batches only). */
function recordingTouches(store: Store): { store: Store; batches: Map<string, number>[] } {
  const batches: Map<string, number>[] = [];
  const proxy = new Proxy(store, {
    get(target, property) {
      if (property === 'touchApiKeys') {
        return (lastUsed: ReadonlyMap<string, number>) => {
          if (lastUsed.size > 0) batches.push(new Map(lastUsed));
          return target.touchApiKeys(lastUsed);
        };
      }
      const value = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { store: proxy, batches };
}

/** How many changes `orgId` has seen since `listen` was called (onChange, and the shared version). */
function changeCounter(store: Store, orgId: string) {
  let heard = 0;
  store.onChange((id) => {
    if (id === orgId) heard++;
  });
  return async () => ({
    heard,
    version: store.writers === 'shared' ? (await store.accessVersions([orgId])).get(orgId) : null,
  });
}

async function use(app: FastifyInstance, key: string, times: number, url = '/v1/models'): Promise<void> {
  for (let i = 0; i < times; i++) {
    const response = await send(app, { method: 'GET', url, headers: bearer(key) });
    assert.equal(response.status, 200, JSON.stringify(response.body));
  }
}

/** CONTRACT §5 (`last_used_at`) and the store's promise: key use is written back in batches, never per request. */
for (const backend of await backends()) {
  describe(`last_used_at (${backend.name})`, () => {
    const world = useWorld(backend);

    test('appears within the flush interval, as the latest use, on admin and project keys alike', async () => {
      const clock = pinnedClock(1_703_000_000);
      const app = await appWith(world.store, { clock, lastUsedFlushMs: 20 });
      try {
        const org = await newOrg(world.store, clock);
        const project = await createProject(app, org.adminKey);
        const account = await serviceAccount(app, org.adminKey, project);
        const admin = await addAdminKey(app, org.adminKey, { name: 'watched' });
        const keyUrl = `/v1/organization/projects/${project}/api_keys/${account.keyId}`;
        const adminUrl = `/v1/organization/admin_api_keys/${admin.id}`;
        assert.equal((await adminGet(app, org.adminKey, keyUrl)).last_used_at, null);
        assert.equal((await adminGet(app, org.adminKey, adminUrl)).last_used_at, null);

        clock.now = 1_703_000_100;
        await use(app, account.secret, 3);
        await use(app, admin.secret, 2, '/v1/organization/projects');
        clock.now = 1_703_000_150;
        await use(app, account.secret, 1);

        // Polled through the store: asking over HTTP would be a use of a key too.
        const deadline = Date.now() + 10_000;
        for (;;) {
          const [projectKey, adminKey] = [
            await world.store.getProjectKey(org.orgId, project, account.keyId),
            await world.store.getAdminKey(org.orgId, admin.id),
          ];
          if (projectKey?.lastUsedAt === 1_703_000_150 && adminKey?.lastUsedAt === 1_703_000_100) break;
          assert.ok(Date.now() < deadline, `not written back: ${projectKey?.lastUsedAt} ${adminKey?.lastUsedAt}`);
          await sleep(20);
        }
        assert.equal((await adminGet(app, org.adminKey, keyUrl)).last_used_at, 1_703_000_150);
        assert.equal((await adminGet(app, org.adminKey, adminUrl)).last_used_at, 1_703_000_100);
        const listed = await adminGet(app, org.adminKey, '/v1/organization/admin_api_keys');
        assert.equal(listed.data.find((k: { id: string }) => k.id === admin.id)?.last_used_at, 1_703_000_100);
      } finally {
        await app.close();
      }
    });

    test('a hundred requests write nothing until the flush, then one batch; no audit event, no access change', async () => {
      const clock = pinnedClock(1_703_100_000);
      const recorded = recordingTouches(world.store);
      // The default flush interval (30 s) does not pass during this test: only close() flushes.
      const app = await appWith(recorded.store, { clock });
      let closed = false;
      try {
        const org = await newOrg(world.store, clock);
        const project = await createProject(app, org.adminKey);
        const account = await serviceAccount(app, org.adminKey, project);
        const admin = await addAdminKey(app, org.adminKey, { name: 'watched' });
        const changes = changeCounter(world.store, org.orgId);
        const before = { changes: await changes(), audit: await auditEvents(app, org.adminKey) };
        recorded.batches.length = 0;

        for (let i = 0; i < 50; i++) {
          clock.now = 1_703_100_000 + i;
          await use(app, account.secret, 1);
          await use(app, admin.secret, 1, '/v1/organization/admin_api_keys?limit=1');
        }
        assert.equal(recorded.batches.length, 0, 'no write while requests come in');
        assert.equal((await world.store.getProjectKey(org.orgId, project, account.keyId))?.lastUsedAt, null);
        assert.deepEqual(await changes(), before.changes, 'using keys is no change of the organization');

        await app.close();
        closed = true;
        assert.equal(recorded.batches.length, 1, 'closing writes back once');
        const [batch] = recorded.batches;
        assert.equal(batch?.get(account.keyId), 1_703_100_049);
        assert.equal(batch?.get(admin.id), 1_703_100_049);
        assert.equal((await world.store.getProjectKey(org.orgId, project, account.keyId))?.lastUsedAt, 1_703_100_049);
        assert.equal((await world.store.getAdminKey(org.orgId, admin.id))?.lastUsedAt, 1_703_100_049);

        // Nor did the write-back change anything anyone's access depends on, or the audit log.
        assert.deepEqual(await changes(), before.changes);
        const events = await world.store.listAuditEvents(org.orgId, { limit: 100 });
        assert.ok(events !== 'unknown_cursor');
        assert.deepEqual(
          events.items.map((e) => e.id),
          before.audit.map((e) => e.id),
        );
      } finally {
        if (!closed) await app.close();
      }
    });
  });
}
