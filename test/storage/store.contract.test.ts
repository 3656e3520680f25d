import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { hashKey } from '../../src/domain/keys.ts';
import { newId } from '../../src/ids.ts';
import type { ApiKey, Permission, Store, WriteMeta } from '../../src/storage/store.ts';
import { backends, openTestStore } from '../support/backends.ts';

/** One contract, every backend: what the domain may rely on from any Store. */

let now = 1_700_000_000;

/** What a write made by no key (start-up, a seed) carries. */
const meta = (at = now): WriteMeta => ({ actor: null, now: at });

async function org(store: Store): Promise<string> {
  const id = newId.organization();
  await store.createOrganization({ id, name: id, createdAt: now }, null, meta());
  return id;
}

async function project(store: Store, orgId: string, archived = false): Promise<string> {
  const id = newId.project();
  await store.createProject(
    {
      id,
      orgId,
      name: id,
      externalKeyId: null,
      createdAt: now,
      archivedAt: archived ? now : null,
    },
    meta(),
  );
  return id;
}

async function checkpoint(store: Store, orgId: string, owner: string): Promise<string> {
  const name = `ft:gpt-4o-mini-2024-07-18:acme:${newId.permission()}`;
  const result = await store.registerCheckpoint({ orgId, name, projectId: owner, createdAt: now }, meta());
  assert.equal(result.kind, 'registered');
  return name;
}

function grant(store: Store, orgId: string, name: string, projectIds: string[]) {
  return store.grantPermissions({
    orgId,
    checkpoint: name,
    projectIds,
    newPermissionId: newId.permission,
    now: () => now++,
    actor: null,
  });
}

async function granted(store: Store, orgId: string, name: string, projectIds: string[]): Promise<Permission[]> {
  const result = await grant(store, orgId, name, projectIds);
  assert.ok(Array.isArray(result), `grant refused: ${JSON.stringify(result)}`);
  return result;
}

async function allIds(store: Store, orgId: string, name: string, order: 'ascending' | 'descending', limit = 3) {
  const ids: string[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await store.listPermissions(orgId, name, { limit, order, ...(after ? { after } : {}) });
    assert.notEqual(page, 'unknown_cursor');
    if (page === 'unknown_cursor') return ids;
    ids.push(...page.items.map((p) => p.id));
    if (!page.hasMore) return ids;
    assert.equal(page.items.length, limit, 'a page with has_more is full');
    after = page.items.at(-1)?.id;
  }
}

for (const backend of await backends()) {
  describe(`store contract (${backend.name})`, () => {
    let store: Store;
    let dispose: () => Promise<void>;
    before(async () => {
      ({ store, dispose } = await openTestStore(backend));
    });
    after(async () => dispose());

    test('migrating twice is a no-op', async () => {
      await store.migrate();
      await store.ping();
    });

    test('a grant returns one permission per project, in request order, and keeps existing ones', async () => {
      const o = await org(store);
      const [a, b, c] = [await project(store, o), await project(store, o), await project(store, o)];
      const name = await checkpoint(store, o, a);
      const first = await granted(store, o, name, [b]);
      const second = await granted(store, o, name, [c, b, a]);
      assert.deepEqual(
        second.map((p) => p.projectId),
        [c, b, a],
      );
      assert.deepEqual(second[1], first[0], 'the existing permission comes back unchanged');
      assert.deepEqual(await allIds(store, o, name, 'ascending'), [first[0]?.id, second[0]?.id, second[2]?.id]);
    });

    test('a grant is all or nothing', async () => {
      const o = await org(store);
      const [a, b] = [await project(store, o), await project(store, o)];
      const archived = await project(store, o, true);
      const name = await checkpoint(store, o, a);
      assert.deepEqual(await grant(store, o, name, [a, b, 'proj_missing']), {
        kind: 'project_not_found',
        projectId: 'proj_missing',
      });
      assert.deepEqual(await grant(store, o, name, [a, archived]), { kind: 'project_archived', projectId: archived });
      assert.deepEqual(await grant(store, o, 'ft:unknown', [a]), { kind: 'checkpoint_not_found' });
      assert.deepEqual(await allIds(store, o, name, 'descending'), []);
    });

    test('another organization’s projects and checkpoints do not exist for a grant', async () => {
      const [o1, o2] = [await org(store), await org(store)];
      const p1 = await project(store, o1);
      const p2 = await project(store, o2);
      const name = await checkpoint(store, o1, p1);
      assert.deepEqual(await grant(store, o1, name, [p2]), { kind: 'project_not_found', projectId: p2 });
      assert.deepEqual(await grant(store, o2, name, [p2]), { kind: 'checkpoint_not_found' });
      assert.equal(await store.getCheckpoint(o2, name), undefined);
    });

    test('lists are keyset pages in a total order, both ways, with exact has_more', async () => {
      const o = await org(store);
      const owner = await project(store, o);
      const name = await checkpoint(store, o, owner);
      const projects: string[] = [];
      for (let i = 0; i < 7; i++) projects.push(await project(store, o));
      // One request for five, then two more requests: all in one second would tie on created_at.
      const made = [
        ...(await granted(store, o, name, projects.slice(0, 5))),
        ...(await granted(store, o, name, projects.slice(5, 6))),
        ...(await granted(store, o, name, projects.slice(6))),
      ].map((p) => p.id);
      assert.deepEqual(await allIds(store, o, name, 'ascending'), made);
      assert.deepEqual(await allIds(store, o, name, 'descending'), [...made].reverse());
      assert.deepEqual(await allIds(store, o, name, 'ascending', 7), made);
      const exact = await store.listPermissions(o, name, { limit: 7, order: 'ascending' });
      assert.ok(exact !== 'unknown_cursor' && exact.hasMore === false);
    });

    test('created_at never goes backwards in creation order, even for grants racing each other', async () => {
      const o = await org(store);
      const owner = await project(store, o);
      const name = await checkpoint(store, o, owner);
      const projects: string[] = [];
      for (let i = 0; i < 20; i++) projects.push(await project(store, o));
      let tick = now;
      await Promise.all(
        projects.map((p) =>
          store.grantPermissions({
            orgId: o,
            checkpoint: name,
            projectIds: [p],
            newPermissionId: newId.permission,
            now: () => tick++,
            actor: null,
          }),
        ),
      );
      const page = await store.listPermissions(o, name, { limit: 100, order: 'ascending' });
      assert.ok(page !== 'unknown_cursor');
      const times = page.items.map((p) => p.createdAt);
      assert.deepEqual(
        times,
        [...times].sort((a, b) => a - b),
      );
    });

    test('the project filter and the cursor must agree', async () => {
      const o = await org(store);
      const [a, b] = [await project(store, o), await project(store, o)];
      const name = await checkpoint(store, o, a);
      const [pa, pb] = await granted(store, o, name, [a, b]);
      const filtered = await store.listPermissions(o, name, { limit: 10, order: 'descending', projectId: b });
      assert.ok(filtered !== 'unknown_cursor');
      assert.deepEqual(filtered.items, [pb]);
      assert.equal(
        await store.listPermissions(o, name, { limit: 10, order: 'descending', projectId: b, after: pa?.id ?? '' }),
        'unknown_cursor',
      );
      assert.equal(
        await store.listPermissions(o, name, { limit: 10, order: 'descending', after: 'cp_nope' }),
        'unknown_cursor',
      );
    });

    test('revoking removes exactly one permission, once, and only on its checkpoint', async () => {
      const o = await org(store);
      const a = await project(store, o);
      const [n1, n2] = [await checkpoint(store, o, a), await checkpoint(store, o, a)];
      const [p] = await granted(store, o, n1, [a]);
      assert.ok(p);
      assert.equal(await store.revokePermission(o, n2, p.id, meta()), undefined);
      assert.deepEqual(await store.revokePermission(o, n1, p.id, meta()), p);
      assert.equal(await store.revokePermission(o, n1, p.id, meta()), undefined);
    });

    test('deleting a checkpoint removes its permissions; registering again starts empty', async () => {
      const o = await org(store);
      const a = await project(store, o);
      const name = await checkpoint(store, o, a);
      await granted(store, o, name, [a]);
      assert.equal(await store.deleteCheckpoint(o, name, meta()), true);
      assert.equal(await store.deleteCheckpoint(o, name, meta()), false);
      assert.equal(
        (await store.registerCheckpoint({ orgId: o, name, projectId: a, createdAt: now }, meta())).kind,
        'registered',
      );
      assert.deepEqual(await allIds(store, o, name, 'ascending'), []);
    });

    test('registering is idempotent for the owner and refused for another project', async () => {
      const o = await org(store);
      const [a, b] = [await project(store, o), await project(store, o)];
      const archived = await project(store, o, true);
      const name = await checkpoint(store, o, a);
      const again = await store.registerCheckpoint({ orgId: o, name, projectId: a, createdAt: now + 50 }, meta());
      assert.deepEqual(again, { kind: 'registered', checkpoint: { orgId: o, name, projectId: a, createdAt: now } });
      assert.equal(
        (await store.registerCheckpoint({ orgId: o, name, projectId: b, createdAt: now }, meta())).kind,
        'owned_by_other_project',
      );
      assert.equal(
        (await store.registerCheckpoint({ orgId: o, name: 'x', projectId: archived, createdAt: now }, meta())).kind,
        'project_archived',
      );
      assert.equal(
        (await store.registerCheckpoint({ orgId: o, name: 'x', projectId: 'proj_no', createdAt: now }, meta())).kind,
        'project_not_found',
      );
    });

    test('projects: keyset pages, archive is idempotent, updates are partial', async () => {
      const o = await org(store);
      const ids = [await project(store, o), await project(store, o, true), await project(store, o)];
      const active = await store.listProjects(o, { limit: 10, includeArchived: false });
      assert.ok(active !== 'unknown_cursor');
      assert.deepEqual(
        active.items.map((p) => p.id),
        [ids[0], ids[2]],
      );
      const page = await store.listProjects(o, { limit: 1, includeArchived: true, after: ids[0] ?? '' });
      assert.ok(page !== 'unknown_cursor');
      assert.deepEqual([page.items.map((p) => p.id), page.hasMore], [[ids[1]], true]);
      const first = await store.archiveProject(o, ids[0] ?? '', meta(now + 10));
      const second = await store.archiveProject(o, ids[0] ?? '', meta(now + 20));
      assert.equal(first?.archivedAt, now + 10);
      assert.equal(second?.archivedAt, now + 10);
      const renamed = await store.updateProject(o, ids[2] ?? '', { externalKeyId: 'ext-1' }, meta());
      assert.equal(renamed?.name, ids[2]);
      assert.equal(renamed?.externalKeyId, 'ext-1');
      assert.equal(await store.updateProject(await org(store), ids[2] ?? '', { name: 'x' }, meta()), undefined);
    });

    test('api keys: found by hash, inserted once, created with their organization atomically', async () => {
      const orgId = newId.organization();
      const key: ApiKey = {
        id: newId.apiKey(),
        orgId,
        projectId: null,
        kind: 'admin',
        name: 'k',
        hash: hashKey(`sk-admin-${orgId}`),
        redacted: 'sk-adm****',
        createdAt: now,
        revokedAt: null,
        serviceAccountId: null,
        expiresAt: null,
        lastUsedAt: null,
      };
      await store.createOrganization({ id: orgId, name: 'o', createdAt: now }, key, meta());
      assert.deepEqual(await store.findApiKeyByHash(key.hash), { ...key, projectArchived: false });
      assert.equal(await store.addApiKey({ ...key, id: newId.apiKey() }, meta()), false);
      const other = { ...key, id: newId.apiKey(), hash: hashKey(`other-${orgId}`) };
      await assert.rejects(store.createOrganization({ id: orgId, name: 'again', createdAt: now }, other, meta()));
      assert.equal(await store.findApiKeyByHash(other.hash), undefined, 'the failed organization left no key behind');
    });
  });
}
