import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { backends, openTestStore } from '../support/backends.ts';
import {
  addAdminKey,
  archive,
  assertError,
  grant,
  permissionsUrl,
  pinnedClock,
  send,
  serviceAccount,
} from '../support/http.ts';
import { bearer, checkpointName, createProject, newOrg, registerCheckpoint, testApp } from '../support/world.ts';

/**
 * The audit log (OpenAI's `GET /v1/organization/audit_logs`): an event for every accepted change,
 * with OpenAI's payloads, in the change's own transaction; none for refused or no-op requests.
 */

type Event = {
  id: string;
  type: string;
  effective_at: number;
  project?: { id: string; name: string | null };
  actor: { type: string; api_key: { id: string; type: string; user?: { id: string } } } | null;
  [payload: string]: unknown;
};

for (const backend of await backends()) {
  describe(`audit log (${backend.name})`, () => {
    const clock = pinnedClock();
    let ctx: Awaited<ReturnType<typeof openTestStore>>;
    let app: FastifyInstance;
    before(async () => {
      ctx = await openTestStore(backend);
      app = await testApp(ctx.store, clock);
    });
    after(async () => {
      await app.close();
      await ctx.dispose();
    });

    /** Every event the key's organization has, newest first, following the cursors. */
    async function events(key: string, query = ''): Promise<Event[]> {
      const all: Event[] = [];
      let cursor = '';
      for (;;) {
        const separator = query ? '&' : '';
        const response = await send(app, {
          method: 'GET',
          url: `/v1/organization/audit_logs?limit=100${separator}${query}${cursor}`,
          headers: bearer(key),
        });
        assert.equal(response.status, 200, JSON.stringify(response.body));
        all.push(...response.body.data);
        if (!response.body.has_more) return all;
        cursor = `&after=${response.body.last_id}`;
      }
    }

    const call = (key: string, method: 'GET' | 'POST' | 'DELETE', url: string, payload?: object) =>
      send(app, { method, url, headers: bearer(key), ...(payload ? { payload } : {}) });

    /** The key id behind an organization's first admin key: the actor of everything its tests do. */
    async function actorId(key: string): Promise<string> {
      const list = await call(key, 'GET', '/v1/organization/admin_api_keys');
      return list.body.data[0].id;
    }

    test('every accepted change writes its event, with OpenAI’s payload, project and actor', async () => {
      const org = await newOrg(ctx.store);
      const key = org.adminKey;
      const keyId = await actorId(key);
      const since = (await events(key)).length;
      clock.now += 10;
      const start = clock.now;

      const owner = await createProject(app, key, 'owner');
      const grantee = await createProject(app, key, 'grantee');
      await call(key, 'POST', `/v1/organization/projects/${grantee}`, { name: 'grantee renamed' });
      const checkpoint = checkpointName();
      await registerCheckpoint(app, key, checkpoint, owner);
      const granted = await grant(app, key, checkpoint, [grantee, owner]);
      const [toGrantee, toOwner] = granted.data;
      await call(key, 'DELETE', `${permissionsUrl(checkpoint)}/${toGrantee.id}`);
      const account = await serviceAccount(app, key, grantee);
      // Keys are ordered by creation time, then id: a later second makes the order of the two certain.
      clock.now += 1;
      const secondKey = await call(
        key,
        'POST',
        `/v1/organization/projects/${grantee}/service_accounts/${account.id}/api_keys`,
        {
          name: 'second',
          scopes: ['api.model.read'],
        },
      );
      await call(key, 'POST', `/v1/organization/projects/${grantee}/service_accounts/${account.id}`, { role: 'owner' });
      await call(key, 'POST', `/v1/organization/projects/${grantee}/api_keys/${account.keyId}`, {
        expires_in_seconds: 60,
      });
      await call(key, 'DELETE', `/v1/organization/projects/${grantee}/service_accounts/${account.id}`);
      await call(key, 'POST', `/v1/organization/projects/${grantee}/model_permissions`, {
        mode: 'deny_list',
        model_ids: ['x'],
      });
      await call(key, 'DELETE', `/v1/organization/projects/${grantee}/model_permissions`);
      const admin = await addAdminKey(app, key, { name: 'temporary' });
      await call(key, 'DELETE', `/v1/organization/admin_api_keys/${admin.id}`);
      await call(key, 'DELETE', `/v1/models/${checkpoint}`);
      await archive(app, key, grantee);

      const written = (await events(key)).slice(0, -since || undefined).reverse();
      const summary = written.map((e) => [e.type, e.project?.id ?? null, (e[e.type] as { id: string }).id]);
      assert.deepEqual(summary, [
        ['project.created', owner, owner],
        ['project.created', grantee, grantee],
        ['project.updated', grantee, grantee],
        ['checkpoint.registered', owner, checkpoint],
        // One event per new permission, for the project that gained access, in request order.
        ['checkpoint.permission.created', grantee, toGrantee.id],
        ['checkpoint.permission.created', owner, toOwner.id],
        ['checkpoint.permission.deleted', grantee, toGrantee.id],
        ['service_account.created', grantee, account.id],
        ['api_key.created', grantee, account.keyId],
        ['api_key.created', grantee, secondKey.body.id],
        ['service_account.updated', grantee, account.id],
        ['api_key.updated', grantee, account.keyId],
        // A deleted service account's keys die with it, each with its event, before the account's own.
        ['api_key.deleted', grantee, account.keyId],
        ['api_key.deleted', grantee, secondKey.body.id],
        ['service_account.deleted', grantee, account.id],
        ['model_permissions.updated', grantee, grantee],
        ['model_permissions.deleted', grantee, grantee],
        // An admin key concerns no project.
        ['api_key.created', null, admin.id],
        ['api_key.deleted', null, admin.id],
        // A checkpoint deleted takes its permissions with it, each with its event, then its own.
        ['checkpoint.permission.deleted', owner, toOwner.id],
        ['checkpoint.deleted', owner, checkpoint],
        ['project.archived', grantee, grantee],
      ]);

      const byType = (type: string) => written.find((e) => e.type === type) as Event;
      for (const event of written) {
        assert.match(event.id, /^audit_log-[0-9A-Za-z]{24}$/);
        assert.ok(event.effective_at >= start && event.effective_at <= clock.now, String(event.effective_at));
        assert.deepEqual(event.actor, {
          type: 'api_key',
          api_key: { id: keyId, type: 'user', user: event.actor?.api_key.user },
        });
        assert.match(String(event.actor?.api_key.user?.id), /^user-/);
        assert.deepEqual(
          Object.keys(event).sort(),
          ['actor', 'effective_at', 'id', event.type, 'type', ...(event.project ? ['project'] : [])].sort(),
        );
      }
      assert.deepEqual(byType('checkpoint.permission.created')['checkpoint.permission.created'], {
        id: toGrantee.id,
        data: { project_id: grantee, fine_tuned_model_checkpoint: checkpoint },
      });
      assert.deepEqual(byType('project.created')['project.created'], {
        id: owner,
        data: { name: 'owner', title: 'owner' },
      });
      assert.deepEqual(byType('project.updated')['project.updated'], {
        id: grantee,
        changes_requested: { title: 'grantee renamed', name: 'grantee renamed' },
      });
      assert.deepEqual(byType('service_account.created')['service_account.created'], {
        id: account.id,
        data: { role: 'member' },
      });
      assert.deepEqual(byType('service_account.updated')['service_account.updated'], {
        id: account.id,
        changes_requested: { role: 'owner' },
      });
      assert.deepEqual(written.filter((e) => e.type === 'api_key.created')[1]?.['api_key.created'], {
        id: secondKey.body.id,
        data: { scopes: ['api.model.read'] },
      });
      // `project.name` is the project's name now.
      assert.equal(byType('project.created').project?.name, 'owner');
      assert.equal(byType('model_permissions.updated').project?.name, 'grantee renamed');
      // No secret anywhere in the log.
      const text = JSON.stringify(written);
      for (const secret of [key, account.secret, admin.secret, secondKey.body.value]) assert.ok(!text.includes(secret));
    });

    test('refused, failed and no-op requests write no event', async () => {
      const org = await newOrg(ctx.store);
      const key = org.adminKey;
      const owner = await createProject(app, key, 'owner');
      const grantee = await createProject(app, key, 'grantee');
      const checkpoint = checkpointName();
      await registerCheckpoint(app, key, checkpoint, owner);
      await grant(app, key, checkpoint, [grantee]);
      await call(key, 'POST', `/v1/organization/projects/${grantee}/model_permissions`, {
        mode: 'allow_list',
        model_ids: ['a'],
      });
      const archived = await createProject(app, key, 'archived');
      await archive(app, key, archived);
      const before = await events(key);

      await grant(app, key, checkpoint, [grantee]); // existing permission returned
      await archive(app, key, archived); // already archived
      await call(key, 'POST', `/v1/organization/projects/${grantee}`, { name: 'grantee' }); // same name
      await call(key, 'POST', `/v1/organization/projects/${grantee}/model_permissions`, {
        mode: 'allow_list',
        model_ids: ['a', 'a'],
      });
      await registerCheckpoint(app, key, checkpoint, owner); // registered already, same owner
      await call(key, 'DELETE', `/v1/organization/projects/${owner}/model_permissions`); // none set
      // Refused: an archived project in a grant (all or nothing), unknown ids, bad bodies.
      assertError(await call(key, 'POST', permissionsUrl(checkpoint), { project_ids: [owner, archived] }), 400);
      assertError(await call(key, 'DELETE', `${permissionsUrl(checkpoint)}/cp_nothing`), 404);
      assertError(await call(key, 'POST', '/v1/organization/projects', { name: '' }), 400);
      const only = (await call(key, 'GET', '/v1/organization/admin_api_keys')).body.data;
      assertError(await call(key, 'DELETE', `/v1/organization/admin_api_keys/${only[0].id}`), 400);

      assert.deepEqual(await events(key), before);
    });

    test('newest first; one second’s events in reverse write order; a permission’s deletion before its creation', async () => {
      const org = await newOrg(ctx.store);
      const key = org.adminKey;
      const owner = await createProject(app, key, 'owner');
      const checkpoint = checkpointName();
      await registerCheckpoint(app, key, checkpoint, owner);
      const [permission] = (await grant(app, key, checkpoint, [owner])).data;
      await call(key, 'DELETE', `${permissionsUrl(checkpoint)}/${permission.id}`);
      const list = await events(key, `resource_ids[]=${permission.id}`);
      assert.deepEqual(
        list.map((e) => e.type),
        ['checkpoint.permission.deleted', 'checkpoint.permission.created'],
      );
      assert.equal(list[0]?.effective_at, list[1]?.effective_at, 'the same second (pinned clock)');
    });

    test('filters: event types (and OpenAI’s older spelling), projects, actors, resources, time, combined', async () => {
      const org = await newOrg(ctx.store);
      const key = org.adminKey;
      const other = await addAdminKey(app, key, { name: 'other actor' });
      const a = await createProject(app, key, 'a');
      const b = await createProject(app, other.secret, 'b');
      const checkpoint = checkpointName();
      await registerCheckpoint(app, key, checkpoint, a);
      clock.now += 100;
      const t = clock.now;
      const grants = (await grant(app, other.secret, checkpoint, [a, b])).data;
      clock.now += 100;
      await archive(app, key, b);
      const all = await events(key);
      const ids = (list: Event[]) => list.map((e) => e.id);
      const expect = (keep: (e: Event) => boolean) => ids(all.filter(keep));

      assert.deepEqual(
        ids(await events(key, 'event_types[]=checkpoint.permission.created')),
        expect((e) => e.type === 'checkpoint.permission.created'),
      );
      assert.deepEqual(
        ids(await events(key, 'event_types[]=checkpoint_permission.created')),
        expect((e) => e.type === 'checkpoint.permission.created'),
        'the older spelling is an alias',
      );
      assert.deepEqual(
        ids(await events(key, `project_ids[]=${b}`)),
        expect((e) => e.project?.id === b),
      );
      assert.equal((await events(key, `project_ids[]=${b}`)).length, 3, 'created, granted, archived');
      assert.deepEqual(
        ids(
          await events(
            key,
            `project_ids[]=${a}&project_ids[]=${b}&event_types[]=checkpoint.permission.created&event_types[]=project.archived`,
          ),
        ),
        expect(
          (e) =>
            [a, b].includes(e.project?.id ?? '') &&
            ['checkpoint.permission.created', 'project.archived'].includes(e.type),
        ),
      );
      assert.deepEqual(
        ids(await events(key, `actor_ids[]=${other.id}`)),
        expect((e) => e.actor?.api_key.id === other.id),
      );
      assert.deepEqual(
        ids(await events(key, `resource_ids[]=${grants[1].id}`)),
        expect((e) => (e[e.type] as { id: string }).id === grants[1].id),
      );
      assert.deepEqual(
        ids(await events(key, `effective_at[gte]=${t}&effective_at[lt]=${t + 100}`)),
        expect((e) => e.effective_at === t),
      );
      assert.deepEqual(
        ids(await events(key, `effective_at[gt]=${t}`)),
        expect((e) => e.effective_at > t),
      );
      assert.deepEqual(
        ids(await events(key, `effective_at[lte]=${t}`)),
        expect((e) => e.effective_at <= t),
      );
      // Accepted and ignored, as the SDK sends them.
      assert.deepEqual(ids(await events(key, 'actor_emails[]=someone@example.com&tenant_only=false')), ids(all));
    });

    test('cursors: after pages to older events, before to newer ones; a foreign or unknown cursor is a 400', async () => {
      const org = await newOrg(ctx.store);
      const key = org.adminKey;
      for (let i = 0; i < 7; i++) await createProject(app, key, `p${i}`);
      const all = await events(key);
      const page = async (query: string) =>
        (await call(key, 'GET', `/v1/organization/audit_logs?${query}`)).body as {
          data: Event[];
          has_more: boolean;
          first_id: string | null;
          last_id: string | null;
        };
      const first = await page('limit=3');
      assert.deepEqual(
        first.data.map((e) => e.id),
        all.slice(0, 3).map((e) => e.id),
      );
      assert.equal(first.has_more, true);
      assert.equal(first.last_id, all[2]?.id);
      const second = await page(`limit=3&after=${first.last_id}`);
      assert.deepEqual(
        second.data.map((e) => e.id),
        all.slice(3, 6).map((e) => e.id),
      );
      const back = await page(`limit=2&before=${second.first_id}`);
      assert.deepEqual(
        back.data.map((e) => e.id),
        all.slice(1, 3).map((e) => e.id),
        'the two just newer, newest first',
      );
      assert.equal(back.has_more, true);

      const stranger = await newOrg(ctx.store);
      const foreign = await call(stranger.adminKey, 'GET', `/v1/organization/audit_logs?after=${all[0]?.id}`);
      assertError(foreign, 400, { param: 'after' });
      assertError(await call(key, 'GET', '/v1/organization/audit_logs?before=audit_log-nothing'), 400, {
        param: 'before',
      });
      assertError(await call(key, 'GET', `/v1/organization/audit_logs?after=${all[0]?.id}&before=${all[1]?.id}`), 400);
      assertError(await call(key, 'GET', '/v1/organization/audit_logs?limit=0'), 400, { param: 'limit' });
      assertError(await call(key, 'GET', '/v1/organization/audit_logs?limit=101'), 400, { param: 'limit' });
      // Another organization sees none of these events.
      const theirs = await events(stranger.adminKey);
      assert.ok(theirs.every((e) => !all.some((mine) => mine.id === e.id)));
    });

    test('append-only: no route changes or deletes events', async () => {
      const org = await newOrg(ctx.store);
      const list = await events(org.adminKey);
      for (const method of ['POST', 'DELETE', 'PUT', 'PATCH'] as const) {
        const response = await send(app, { method, url: '/v1/organization/audit_logs', headers: bearer(org.adminKey) });
        assertError(response, 404, { message: `Invalid URL (${method} /v1/organization/audit_logs)` });
        const one = await send(app, {
          method,
          url: `/v1/organization/audit_logs/${list[0]?.id}`,
          headers: bearer(org.adminKey),
        });
        assertError(one, 404);
      }
    });
  });
}
