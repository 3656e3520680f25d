import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { Store } from '../../src/storage/store.ts';
import { backends } from '../support/backends.ts';
import {
  assertError,
  assertListEnvelope,
  createProjects,
  grant,
  listPermissions,
  pageAll,
  permissionsUrl,
  send,
  useWorld,
} from '../support/http.ts';
import { bearer, checkpointName, newOrg, registerCheckpoint } from '../support/world.ts';

type Perm = { id: string; project_id: string; created_at: number };

/**
 * A checkpoint with `n` permissions granted over several requests (sizes `batches`), returned in
 * creation order: request by request, and request order inside each.
 */
async function checkpointWith(app: FastifyInstance, store: Store, batches: number[]) {
  const org = await newOrg(store);
  const total = batches.reduce((a, b) => a + b, 0);
  const [owner, ...grantees] = await createProjects(app, org.adminKey, total + 1);
  const checkpoint = checkpointName();
  await registerCheckpoint(app, org.adminKey, checkpoint, owner as string);
  const created: Perm[] = [];
  let next = 0;
  for (const size of batches) {
    // Each batch in reverse project-creation order, so request order is not creation order of projects.
    const ids = grantees.slice(next, next + size).reverse();
    next += size;
    created.push(...(await grant(app, org.adminKey, checkpoint, ids)).data);
  }
  return { org, key: org.adminKey, checkpoint, created, grantees };
}

const ids = (items: { id: string }[]) => items.map((p) => p.id);

/** CONTRACT §1: limit, order, after and project_id on the permission list. */
for (const backend of await backends()) {
  describe(`checkpoint permission paging (${backend.name})`, () => {
    const world = useWorld(backend);

    test('order defaults to descending by creation; ascending is creation (and request) order', async () => {
      const { key, checkpoint, created } = await checkpointWith(world.app, world.store, [3, 1, 2]);
      const ascending = await listPermissions(world.app, key, checkpoint, { order: 'ascending' });
      assert.deepEqual(ids(ascending.data), ids(created));
      assert.equal(ascending.has_more, false);
      const descending = await listPermissions(world.app, key, checkpoint, { order: 'descending' });
      assert.deepEqual(ids(descending.data), ids(created).reverse());
      assert.deepEqual(await listPermissions(world.app, key, checkpoint), descending);
      assertListEnvelope(descending);
    });

    test('limit defaults to 10, and 1 and 100 are accepted', async () => {
      const { key, checkpoint, created } = await checkpointWith(world.app, world.store, [12]);
      const first = await listPermissions(world.app, key, checkpoint);
      assert.equal(first.data.length, 10);
      assert.equal(first.has_more, true);
      assert.deepEqual(ids(first.data), ids(created).reverse().slice(0, 10));
      assertListEnvelope(first);

      const one = await listPermissions(world.app, key, checkpoint, { limit: 1, order: 'ascending' });
      assert.deepEqual(ids(one.data), [created[0]?.id]);
      assert.equal(one.has_more, true);
      const hundred = await listPermissions(world.app, key, checkpoint, { limit: 100 });
      assert.equal(hundred.data.length, 12);
      assert.equal(hundred.has_more, false);
      const exact = await listPermissions(world.app, key, checkpoint, { limit: 12 });
      assert.equal(exact.data.length, 12);
      assert.equal(exact.has_more, false, 'no phantom last page when the page ends exactly at the last item');
      const short = await listPermissions(world.app, key, checkpoint, { limit: 11 });
      assert.equal(short.has_more, true);
    });

    for (const order of ['ascending', 'descending'] as const) {
      test(`pages with after=last_id over several pages (${order}): exact has_more, no duplicates, no skips`, async () => {
        const { key, checkpoint, created } = await checkpointWith(world.app, world.store, [2, 3, 2]);
        const expected = order === 'ascending' ? ids(created) : ids(created).reverse();

        const uneven = await pageAll(world.app, key, checkpoint, { limit: 3, order });
        assert.deepEqual(uneven.pages.map(ids), [expected.slice(0, 3), expected.slice(3, 6), expected.slice(6)]);
        assert.deepEqual(uneven.hasMore, [true, true, false]);

        // 7 items in pages of 7, then of 1: the last page is never empty.
        const whole = await pageAll(world.app, key, checkpoint, { limit: 7, order });
        assert.deepEqual(whole.pages.map(ids), [expected]);
        assert.deepEqual(whole.hasMore, [false]);
        const single = await pageAll(world.app, key, checkpoint, { limit: 1, order });
        assert.deepEqual(
          single.pages.map(ids),
          expected.map((id) => [id]),
        );
        assert.deepEqual(single.hasMore, [true, true, true, true, true, true, false]);
      });

      test(`a page ending exactly at the last item says has_more:false (${order})`, async () => {
        const { key, checkpoint, created } = await checkpointWith(world.app, world.store, [6]);
        const expected = order === 'ascending' ? ids(created) : ids(created).reverse();
        const paged = await pageAll(world.app, key, checkpoint, { limit: 3, order });
        assert.deepEqual(paged.pages.map(ids), [expected.slice(0, 3), expected.slice(3)]);
        assert.deepEqual(paged.hasMore, [true, false]);

        // after the very last item: an empty page, not an error.
        const past = await listPermissions(world.app, key, checkpoint, { order, after: expected[5] as string });
        assert.deepEqual(past, { object: 'list', data: [], first_id: null, last_id: null, has_more: false });
      });
    }

    test('project_id filters the list, and after works within the filter', async () => {
      const { app, store } = world;
      const { key, checkpoint, created, grantees } = await checkpointWith(app, store, [3]);
      const target = created[1] as Perm;
      const filtered = await listPermissions(app, key, checkpoint, { project_id: target.project_id });
      assert.deepEqual(filtered, {
        object: 'list',
        data: [target],
        first_id: target.id,
        last_id: target.id,
        has_more: false,
      });

      const nobody = await listPermissions(app, key, checkpoint, { project_id: 'proj_not_a_grantee' });
      assert.deepEqual(nobody, { object: 'list', data: [], first_id: null, last_id: null, has_more: false });
      // A project of the org without a permission on this checkpoint: empty, not an error.
      const [unshared] = await createProjects(app, key, 1);
      const none = await listPermissions(app, key, checkpoint, { project_id: unshared as string });
      assert.deepEqual(none.data, []);
      assert.equal(grantees.length, 3);

      const afterTarget = await listPermissions(app, key, checkpoint, {
        project_id: target.project_id,
        after: target.id,
      });
      assert.deepEqual(afterTarget.data, []);
      assert.equal(afterTarget.has_more, false);
    });

    test('after must be a permission of this checkpoint (and filter), else 400 param "after"', async () => {
      const { app, store } = world;
      const { key, checkpoint, created, grantees } = await checkpointWith(app, store, [3]);
      const other = checkpointName();
      await registerCheckpoint(app, key, other, grantees[0] as string);
      const foreign = (await grant(app, key, other, [grantees[1]])).data[0] as Perm;

      const bad = async (query: string) =>
        send(app, { method: 'GET', url: `${permissionsUrl(checkpoint)}?${query}`, headers: bearer(key) });
      assertError(await bad(`after=${foreign.id}`), 400, { param: 'after' });
      assertError(await bad('after=cp_000000000000000000000000'), 400, { param: 'after' });
      assertError(await bad(`after=${created[0]?.id}&project_id=${created[1]?.project_id}`), 400, { param: 'after' });
      assertError(await bad('after='), 400, { param: 'after' });

      // A permission that was deleted is no longer a valid cursor.
      const gone = created[2] as Perm;
      const deleted = await send(app, {
        method: 'DELETE',
        url: `${permissionsUrl(checkpoint)}/${gone.id}`,
        headers: bearer(key),
      });
      assert.equal(deleted.status, 200);
      assertError(await bad(`after=${gone.id}`), 400, { param: 'after' });

      // Another organization's permission id is no cursor here either.
      const stranger = await newOrg(store);
      const [strangerOwner, strangerGrantee] = await createProjects(app, stranger.adminKey, 2);
      const strangerCheckpoint = checkpointName();
      await registerCheckpoint(app, stranger.adminKey, strangerCheckpoint, strangerOwner as string);
      const strangers = (await grant(app, stranger.adminKey, strangerCheckpoint, [strangerGrantee])).data[0] as Perm;
      assertError(await bad(`after=${strangers.id}`), 400, { param: 'after' });

      // The valid cursors still work.
      const fine = await listPermissions(app, key, checkpoint, { after: created[1]?.id as string });
      assert.deepEqual(ids(fine.data), [created[0]?.id]);
    });

    test('100 project_ids are granted in request order; with the 100th invalid, none is', async () => {
      const { app, store } = world;
      const org = await newOrg(store);
      const [owner, ...projects] = await createProjects(app, org.adminKey, 101);
      const checkpoint = checkpointName();
      await registerCheckpoint(app, org.adminKey, checkpoint, owner as string);
      const requested = projects.slice(0, 100).reverse();

      const refused = await send(app, {
        method: 'POST',
        url: permissionsUrl(checkpoint),
        headers: bearer(org.adminKey),
        payload: { project_ids: [...requested.slice(0, 99), 'proj_does_not_exist'] },
      });
      assertError(refused, 400, { param: 'project_ids', code: 'project_not_found' });
      assert.match(refused.body.error.message, /proj_does_not_exist/);
      assert.deepEqual((await listPermissions(app, org.adminKey, checkpoint)).data, []);

      const body = await grant(app, org.adminKey, checkpoint, requested);
      assert.equal(body.data.length, 100);
      assert.deepEqual(
        body.data.map((p: Perm) => p.project_id),
        requested,
      );
      const all = await listPermissions(app, org.adminKey, checkpoint, { limit: 100, order: 'ascending' });
      assert.deepEqual(all.data, body.data);
      assert.equal(all.has_more, false);
    });
  });
}
