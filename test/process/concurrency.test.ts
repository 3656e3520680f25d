import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { randomBase62 } from '../../src/ids.ts';
import { openStore } from '../../src/storage/open.ts';
import type { Store } from '../../src/storage/store.ts';
import { backends, openTestStore } from '../support/backends.ts';
import {
  bearer,
  call,
  checkpointName,
  createProject,
  newOrg,
  registerCheckpoint,
  type TestOrg,
  testApp,
} from '../support/world.ts';

/**
 * CONTRACT §1 and §4 under concurrent requests, in process: many requests in flight at once over
 * one store (and, on PostgreSQL, over two replicas sharing the database).
 */

type Permission = { object: string; id: string; created_at: number; project_id: string };

const permissionsUrl = (checkpoint: string) => `/v1/fine_tuning/checkpoints/${checkpoint}/permissions`;

for (const backend of await backends()) {
  describe(`concurrent grants (${backend.name})`, () => {
    let ctx: Awaited<ReturnType<typeof openTestStore>>;
    let app: FastifyInstance;

    before(async () => {
      ctx = await openTestStore(backend);
      app = await testApp(ctx.store);
    });
    after(async () => {
      await app?.close();
      await ctx?.dispose();
    });

    const grant = (on: FastifyInstance, org: TestOrg, checkpoint: string, projectIds: string[]) =>
      call(on, {
        method: 'POST',
        url: permissionsUrl(checkpoint),
        headers: bearer(org.adminKey),
        payload: { project_ids: projectIds },
      });

    /** Every permission of `checkpoint`, following `after` cursors `limit` at a time. */
    async function listAll(
      org: TestOrg,
      checkpoint: string,
      order: 'ascending' | 'descending' = 'ascending',
      limit = 100,
    ): Promise<Permission[]> {
      const items: Permission[] = [];
      let after: string | undefined;
      for (let page = 0; page < 1000; page++) {
        const query = new URLSearchParams({ order, limit: String(limit), ...(after ? { after } : {}) });
        const { status, body } = await call(app, {
          method: 'GET',
          url: `${permissionsUrl(checkpoint)}?${query}`,
          headers: bearer(org.adminKey),
        });
        assert.equal(status, 200, JSON.stringify(body));
        assert.ok(body.data.length <= limit);
        items.push(...body.data);
        if (!body.has_more) return items;
        assert.ok(body.data.length > 0 && body.last_id, 'a page with has_more carries items and last_id');
        after = body.last_id;
      }
      throw new Error('listing never ended');
    }

    async function projects(org: TestOrg, count: number): Promise<string[]> {
      const ids: string[] = [];
      for (let i = 0; i < count; i++) ids.push(await createProject(app, org.adminKey, `p${i}`));
      return ids;
    }

    async function checkpointOf(org: TestOrg): Promise<string> {
      const owner = await createProject(app, org.adminKey, 'owner');
      const checkpoint = checkpointName();
      await registerCheckpoint(app, org.adminKey, checkpoint, owner);
      return checkpoint;
    }

    test('50 simultaneous identical grants yield exactly one permission', async () => {
      const org = await newOrg(ctx.store);
      const checkpoint = await checkpointOf(org);
      const [project] = (await projects(org, 1)) as [string];

      const answers = await Promise.all(Array.from({ length: 50 }, () => grant(app, org, checkpoint, [project])));
      for (const answer of answers) {
        assert.equal(answer.status, 200, JSON.stringify(answer.body));
        assert.equal(answer.body.data.length, 1);
      }
      const granted = answers.map((a) => a.body.data[0] as Permission);
      assert.equal(new Set(granted.map((p) => p.id)).size, 1, 'every answer names the same permission');
      assert.equal(new Set(granted.map((p) => p.created_at)).size, 1, 'with the same created_at');
      assert.deepEqual(await listAll(org, checkpoint), [granted[0]]);
    });

    test('simultaneous grants of overlapping project sets, in different orders, agree on one permission each', async () => {
      const org = await newOrg(ctx.store);
      const ids = await projects(org, 20);
      // Each request names the same projects, rotated and reversed: writers that lock (or insert)
      // rows in request order would deadlock against each other here.
      const requests = Array.from({ length: 40 }, (_, i) => {
        const rotated = [...ids.slice(i % ids.length), ...ids.slice(0, i % ids.length)];
        return i % 2 === 0 ? rotated : rotated.reverse();
      });
      for (let round = 0; round < 10; round++) {
        const checkpoint = await checkpointOf(org);
        const answers = await Promise.all(requests.map((projectIds) => grant(app, org, checkpoint, projectIds)));
        const byProject = new Map<string, Permission>();
        answers.forEach((answer, i) => {
          assert.equal(answer.status, 200, `round ${round}, request ${i}: ${JSON.stringify(answer.body)}`);
          const data = answer.body.data as Permission[];
          assert.deepEqual(
            data.map((p) => p.project_id),
            requests[i],
            'data follows request order',
          );
          for (const permission of data) {
            const known = byProject.get(permission.project_id);
            if (known) assert.deepEqual(permission, known, 'one permission per project across all answers');
            else byProject.set(permission.project_id, permission);
          }
        });
        const listed = await listAll(org, checkpoint);
        assert.equal(listed.length, ids.length);
        assert.deepEqual(
          new Map(listed.map((p) => [p.project_id, p])),
          byProject,
          'the list holds exactly the permissions the answers named',
        );
      }
    });

    test('deleting a checkpoint while grants to it run: each request succeeds or finds it gone', async () => {
      const org = await newOrg(ctx.store);
      const ids = await projects(org, 8);
      for (let round = 0; round < 6; round++) {
        const checkpoint = await checkpointOf(org);
        // Existing permissions give the delete rows to remove while the grants insert theirs.
        assert.equal((await grant(app, org, checkpoint, ids.slice(0, 4))).status, 200);
        const grants = Array.from({ length: 10 }, (_, i) =>
          grant(app, org, checkpoint, i % 2 === 0 ? ids : [...ids].reverse()),
        );
        const deletion = call(app, {
          method: 'DELETE',
          url: `/v1/fine_tuning/checkpoints/${checkpoint}`,
          headers: bearer(org.adminKey),
        });
        const [deleted, ...answers] = await Promise.all([deletion, ...grants]);
        assert.equal(deleted.status, 200, `round ${round}: ${JSON.stringify(deleted.body)}`);
        for (const answer of answers) {
          assert.ok(
            answer.status === 200 || (answer.status === 404 && answer.body.error.code === 'model_not_found'),
            `round ${round}: ${answer.status} ${JSON.stringify(answer.body)}`,
          );
        }
        const after = await call(app, {
          method: 'GET',
          url: permissionsUrl(checkpoint),
          headers: bearer(org.adminKey),
        });
        assert.equal(after.status, 404, 'no permission outlives its checkpoint');
      }
    });

    describe('100-project grants are all or nothing', () => {
      let org: TestOrg;
      let valid: string[];

      before(async () => {
        org = await newOrg(ctx.store);
        valid = await projects(org, 99);
      });

      for (const [what, lastOf] of [
        ['unknown', async () => `proj_${randomBase62(24)}`],
        [
          'archived',
          async () => {
            const id = await createProject(app, org.adminKey, 'archived');
            const archived = await call(app, {
              method: 'POST',
              url: `/v1/organization/projects/${id}/archive`,
              headers: bearer(org.adminKey),
            });
            assert.equal(archived.status, 200);
            return id;
          },
        ],
        ['another organization’s', async () => createProject(app, (await newOrg(ctx.store)).adminKey, 'foreign')],
      ] as const) {
        test(`a grant of 100 projects whose last is ${what} grants none`, async () => {
          const checkpoint = await checkpointOf(org);
          const last = await lastOf();
          const answer = await grant(app, org, checkpoint, [...valid, last]);
          assert.equal(answer.status, 400, JSON.stringify(answer.body));
          assert.equal(answer.body.error.param, 'project_ids');
          assert.deepEqual(await listAll(org, checkpoint), []);
        });
      }

      test('concurrent readers see a 100-project grant entirely or not at all; a failing one never', async () => {
        const checkpoint = await checkpointOf(org);
        const [hundredth] = (await projects(org, 1)) as [string];
        const everything = [...valid, hundredth];
        const observed: number[] = [];
        let writing = true;
        const reader = async () => {
          while (writing) {
            const { status, body } = await call(app, {
              method: 'GET',
              url: `${permissionsUrl(checkpoint)}?limit=100`,
              headers: bearer(org.adminKey),
            });
            assert.equal(status, 200);
            observed.push(body.data.length);
            // In process, over synchronous SQLite, a read is all microtasks: yield to the event
            // loop so the writers' request bodies get read at all.
            await new Promise(setImmediate);
          }
        };
        const readers = Array.from({ length: 4 }, reader);
        const writes = Promise.all([
          grant(app, org, checkpoint, [...valid, `proj_${randomBase62(24)}`]),
          grant(app, org, checkpoint, everything),
          grant(app, org, checkpoint, [`proj_${randomBase62(24)}`, ...valid]),
        ]).finally(() => {
          writing = false;
        });
        const [bad, good, badFirst] = await writes;
        await Promise.all(readers);

        assert.equal(bad.status, 400);
        assert.equal(badFirst.status, 400);
        assert.equal(good.status, 200, JSON.stringify(good.body));
        assert.deepEqual(
          good.body.data.map((p: Permission) => p.project_id),
          everything,
        );
        assert.ok(observed.length > 0, 'the readers ran');
        for (const count of observed) assert.ok(count === 0 || count === 100, `a reader saw ${count} permissions`);
        assert.deepEqual(await listAll(org, checkpoint), good.body.data);
      });

      test('archiving a project while a grant naming it runs: the grant lands whole or not at all', async () => {
        for (let round = 0; round < 8; round++) {
          const checkpoint = await checkpointOf(org);
          const [victim] = (await projects(org, 1)) as [string];
          const [answer, archived] = await Promise.all([
            grant(app, org, checkpoint, [...valid, victim]),
            call(app, {
              method: 'POST',
              url: `/v1/organization/projects/${victim}/archive`,
              headers: bearer(org.adminKey),
            }),
          ]);
          assert.equal(archived.status, 200);
          const listed = await listAll(org, checkpoint);
          if (answer.status === 200) {
            assert.deepEqual(listed, answer.body.data, `round ${round}: granted before the archive`);
          } else {
            assert.equal(answer.status, 400, JSON.stringify(answer.body));
            assert.equal(answer.body.error.param, 'project_ids');
            assert.deepEqual(listed, [], `round ${round}: refused, nothing granted`);
          }
        }
      });
    });

    describe('concurrent grants of different projects to one checkpoint', () => {
      let org: TestOrg;
      let checkpoint: string;
      let requests: string[][];
      let answers: Awaited<ReturnType<typeof grant>>[];
      let ascending: Permission[];

      before(async () => {
        org = await newOrg(ctx.store);
        checkpoint = await checkpointOf(org);
        const ids = await projects(org, 40);
        // 20 single-project grants and 5 of four projects each, all in flight at once.
        requests = [...ids.slice(0, 20).map((id) => [id])];
        for (let i = 20; i < 40; i += 4) requests.push(ids.slice(i, i + 4));
        answers = await Promise.all(requests.map((projectIds) => grant(app, org, checkpoint, projectIds)));
        ascending = await listAll(org, checkpoint);
      });

      test('all land: every answer is 200 and the list holds exactly the granted permissions', () => {
        answers.forEach((answer, i) => {
          assert.equal(answer.status, 200, JSON.stringify(answer.body));
          assert.deepEqual(
            answer.body.data.map((p: Permission) => p.project_id),
            requests[i],
          );
        });
        const granted = answers.flatMap((a) => a.body.data as Permission[]);
        assert.equal(ascending.length, 40);
        assert.equal(new Set(ascending.map((p) => p.id)).size, 40);
        const byId = (list: Permission[]) => [...list].sort((a, b) => a.id.localeCompare(b.id));
        assert.deepEqual(byId(ascending), byId(granted));
      });

      test('permissions of one request list in request order', () => {
        const position = new Map(ascending.map((p, i) => [p.id, i]));
        for (const answer of answers) {
          const positions = (answer.body.data as Permission[]).map((p) => position.get(p.id) ?? -1);
          assert.deepEqual(
            positions,
            [...positions].sort((a, b) => a - b),
            'ascending positions follow request order',
          );
        }
      });

      test('the permissions of one request share its created_at', () => {
        for (const answer of answers) {
          assert.equal(new Set((answer.body.data as Permission[]).map((p) => p.created_at)).size, 1);
        }
      });

      test('the order is total: every page size, both directions, the same sequence', async () => {
        const descending = [...ascending].reverse();
        for (const limit of [1, 3, 7, 40, 100]) {
          assert.deepEqual(await listAll(org, checkpoint, 'ascending', limit), ascending, `ascending, limit ${limit}`);
          assert.deepEqual(
            await listAll(org, checkpoint, 'descending', limit),
            descending,
            `descending, limit ${limit}`,
          );
        }
      });
    });

    if (backend.name === 'postgres') {
      describe('two replicas on one database', () => {
        let second: Store;
        let replica: FastifyInstance;

        before(async () => {
          second = await openStore({ db: ctx.url, poolSize: 10, statementTimeoutMs: 10_000, tls: 'disable' });
          replica = await testApp(second);
        });
        after(async () => {
          await replica?.close();
          await second?.close();
        });

        test('granting the same (checkpoint, project) at once on both yields one permission', async () => {
          const org = await newOrg(ctx.store);
          const checkpoint = await checkpointOf(org);
          const ids = await projects(org, 3);
          const answers = await Promise.all(
            Array.from({ length: 40 }, (_, i) => grant(i % 2 === 0 ? app : replica, org, checkpoint, ids)),
          );
          for (const answer of answers) {
            assert.equal(answer.status, 200, JSON.stringify(answer.body));
            assert.deepEqual(answer.body, answers[0]?.body);
          }
          assert.deepEqual(await listAll(org, checkpoint), answers[0]?.body.data);
        });

        test('a revoke on one replica is seen by the next request on the other', async () => {
          const org = await newOrg(ctx.store);
          const checkpoint = await checkpointOf(org);
          const ids = await projects(org, 5);
          const granted = (await grant(replica, org, checkpoint, ids)).body.data as Permission[];
          for (const permission of granted) {
            const revoked = await call(app, {
              method: 'DELETE',
              url: `${permissionsUrl(checkpoint)}/${permission.id}`,
              headers: bearer(org.adminKey),
            });
            assert.equal(revoked.status, 200);
            const seen = await call(replica, {
              method: 'GET',
              url: `${permissionsUrl(checkpoint)}?limit=100&project_id=${permission.project_id}`,
              headers: bearer(org.adminKey),
            });
            assert.deepEqual(seen.body.data, []);
          }
        });
      });
    }
  });
}
