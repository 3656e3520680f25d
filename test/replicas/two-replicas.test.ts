import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { postgresOnly, type TestDatabase } from '../support/backends.ts';
import { type Client, checkpointName, eventually, permissionsPath, ReplicaSet } from '../support/replicas.ts';

/**
 * Issue item 3 (and the SIGKILL/SIGTERM parts of 4 and 5): two server processes on one
 * PostgreSQL database behave as one service (CONTRACT §4). Replica 1 writes, replica 2 reads,
 * each "on the very next request": no polling, no retry.
 */
const postgres = await postgresOnly('the two-replica runs (test/replicas/two-replicas.test.ts)');

/** Runs `work` over `items`, at most `width` at a time. */
async function pool<T>(items: T[], width: number, work: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) {
        const index = next++;
        await work(items[index] as T, index);
      }
    }),
  );
}

/** Polls `condition` every few milliseconds; fails after `timeoutMs`. */
async function until(what: string, condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  await eventually(what, async () => (condition() ? true : undefined), timeoutMs, 5);
}

if (postgres) {
  describe('two replicas on one PostgreSQL database', { timeout: 150_000 }, () => {
    const replicas = new ReplicaSet();
    let database: TestDatabase;
    let r1: Client;
    let r2: Client;
    let owner: string;

    before(async () => {
      database = await postgres.createDatabase();
      [r1, r2] = (await replicas.start(2, database, { startTimeoutMs: 60_000 })) as [Client, Client];
      owner = await r1.createProject('owner');
    });

    after(async () => {
      await replicas.closeAll();
      await database?.drop();
    });

    /** A checkpoint and `n` fresh projects to grant it to, made through `via` (both replicas by default). */
    async function fixture(n: number, via = [r1, r2]): Promise<{ checkpoint: string; projects: string[] }> {
      const checkpoint = checkpointName();
      await (via[0] as Client).registerCheckpoint(checkpoint, owner);
      const projects: string[] = [];
      await pool(
        Array.from({ length: n }, (_, i) => i),
        10,
        async (i) => {
          projects[i] = await (via[i % via.length] as Client).createProject(`grantee ${i}`);
        },
      );
      return { checkpoint, projects };
    }

    test('50 simultaneous identical grants spread over both replicas yield exactly one permission', async () => {
      const { checkpoint, projects } = await fixture(1);
      const replies = await Promise.all(
        Array.from({ length: 50 }, (_, i) => (i % 2 ? r2 : r1).grant(checkpoint, projects)),
      );
      for (const reply of replies) assert.equal(reply.status, 200, JSON.stringify(reply.body));
      const ids = new Set(replies.map((reply) => reply.body.data[0].id));
      const createdAts = new Set(replies.map((reply) => reply.body.data[0].created_at));
      assert.equal(ids.size, 1, `the 50 grants answered ${ids.size} different permissions`);
      assert.equal(createdAts.size, 1);

      for (const replica of [r1, r2]) {
        const listed = await replica.listAll(checkpoint);
        assert.deepEqual(
          listed.map((p) => p.id),
          [...ids],
        );
      }
      const db = new pg.Client({ connectionString: database.url });
      await db.connect();
      try {
        const rows = await db.query('select id from checkpoint_permissions where checkpoint = $1', [checkpoint]);
        assert.equal(rows.rowCount, 1);
      } finally {
        await db.end();
      }
    });

    test('a grant acknowledged by replica 1 is listed by replica 2 on the very next request', async () => {
      const { checkpoint, projects } = await fixture(20);
      for (const [i, project] of projects.entries()) {
        const granted = await r1.grant(checkpoint, [project]);
        assert.equal(granted.status, 200, JSON.stringify(granted.body));
        const permission = granted.body.data[0];
        // Filtered by project, and as the newest item of the unfiltered list.
        const byProject = await r2.listPage(checkpoint, { project_id: project });
        assert.deepEqual(byProject.data, [permission], `grant ${i} not visible on replica 2`);
        const newest = await r2.listPage(checkpoint, { limit: 1 });
        assert.equal(newest.data[0]?.id, permission.id);
      }
    });

    test('a permission deleted on replica 1 is gone from replica 2 on the very next request', async () => {
      const { checkpoint, projects } = await fixture(20);
      const granted = await r1.grant(checkpoint, projects);
      assert.equal(granted.status, 200);
      const permissions: { id: string; project_id: string }[] = granted.body.data;
      // Make sure replica 2 has seen (and could have cached) every one of them first.
      assert.equal((await r2.listAll(checkpoint)).length, projects.length);
      for (const [i, permission] of permissions.entries()) {
        const deleted = await r1.request('DELETE', `${permissionsPath(checkpoint)}/${permission.id}`);
        assert.equal(deleted.status, 200, JSON.stringify(deleted.body));
        assert.deepEqual(deleted.body, { object: 'checkpoint.permission', id: permission.id, deleted: true });
        const listed = await r2.listAll(checkpoint);
        assert.ok(!listed.some((p) => p.id === permission.id), `deleted permission ${i} still listed on replica 2`);
        assert.equal(listed.length, permissions.length - i - 1);
        const byProject = await r2.listPage(checkpoint, { project_id: permission.project_id });
        assert.deepEqual(byProject.data, []);
        const again = await r2.request('DELETE', `${permissionsPath(checkpoint)}/${permission.id}`);
        assert.equal(again.status, 404);
      }
    });

    for (const order of ['descending', 'ascending'] as const) {
      test(`pagination (${order}) is stable while the other replica writes`, async () => {
        const { checkpoint, projects } = await fixture(70);
        const existing = projects.slice(0, 40);
        const incoming = projects.slice(40);
        const before = await r1.grant(checkpoint, existing);
        assert.equal(before.status, 200);
        const existed = new Set<string>(before.body.data.map((p: { id: string }) => p.id));

        // Replica 1 grants one new project between every two pages replica 2 reads (and keeps
        // going while a page is being read), so every page is read after some write.
        let writes = 0;
        let pagesRead = 0;
        let readerDone = false;
        const writer = (async () => {
          for (const project of incoming) {
            if (readerDone) return;
            const granted = await r1.grant(checkpoint, [project]);
            assert.equal(granted.status, 200, JSON.stringify(granted.body));
            writes++;
            const page = pagesRead;
            await until('replica 2 reads another page', () => pagesRead > page || readerDone);
          }
        })();

        const seen: string[] = [];
        try {
          let after: string | undefined;
          for (let pages = 0; ; pages++) {
            assert.ok(pages < 40, 'paging did not end');
            const writesBefore = writes;
            const page = await r2.listPage(checkpoint, { limit: 5, order, ...(after ? { after } : {}) });
            pagesRead++;
            assert.ok(page.data.length <= 5);
            seen.push(...page.data.map((p: { id: string }) => p.id));
            if (page.has_more) assert.equal(page.last_id, page.data.at(-1)?.id);
            if (!page.has_more) break;
            after = page.last_id;
            await until('replica 1 writes again', () => writes > writesBefore || writes === incoming.length);
          }
        } finally {
          readerDone = true;
          await writer;
        }

        assert.ok(writes >= 5, `only ${writes} writes happened during the listing`);
        assert.equal(new Set(seen).size, seen.length, 'a permission was listed twice');
        const missing = [...existed].filter((id) => !seen.includes(id));
        assert.deepEqual(missing, [], 'permissions that existed before the listing began were skipped');
      });
    }

    test('replica 1 killed with SIGKILL mid-load loses no acknowledged grant', async () => {
      // 200 grants of distinct (checkpoint, project) pairs, 10 at a time, on replica 1.
      const checkpoints: string[] = [];
      for (let i = 0; i < 10; i++) checkpoints.push((await fixture(0)).checkpoint);
      const { projects } = await fixture(20);
      const pairs = checkpoints.flatMap((checkpoint) => projects.map((project) => ({ checkpoint, project })));
      assert.equal(pairs.length, 200);

      const acknowledged: { checkpoint: string; project: string; id: string }[] = [];
      let failed = 0;
      let killing: Promise<void> | undefined;
      const server = r1.server;
      await pool(pairs, 10, async ({ checkpoint, project }) => {
        try {
          const reply = await r1.grant(checkpoint, [project], 10_000);
          if (reply.status === 200) acknowledged.push({ checkpoint, project, id: reply.body.data[0].id });
          else failed++;
        } catch {
          failed++; // the connection died with the process: not acknowledged, so no promise made
        }
        if (acknowledged.length === 60 && !killing) killing = server.kill();
      });
      await killing;

      assert.equal(server.child.signalCode, 'SIGKILL');
      assert.ok(acknowledged.length >= 60 && acknowledged.length < 200, `${acknowledged.length} acknowledged`);
      assert.ok(failed > 0, 'the kill happened after the load, not in the middle of it');

      for (const checkpoint of checkpoints) {
        const listed = new Map((await r2.listAll(checkpoint)).map((p) => [p.project_id, p.id]));
        for (const ack of acknowledged.filter((a) => a.checkpoint === checkpoint)) {
          assert.equal(listed.get(ack.project), ack.id, `acknowledged grant ${ack.id} lost`);
        }
      }
    });

    test('on SIGTERM, replica 2 finishes its in-flight request, then exits 0', async () => {
      const { checkpoint, projects } = await fixture(1, [r2]); // replica 1 is gone
      // Hold a lock the grant needs, so the request is provably in flight when SIGTERM arrives.
      const locker = new pg.Client({ connectionString: database.url });
      await locker.connect();
      let locked = true;
      try {
        await locker.query('begin');
        await locker.query('select * from checkpoints where name = $1 for update', [checkpoint]);
        const inFlight = r2.grant(checkpoint, projects, 20_000);
        await eventually(
          'the grant waits for the lock',
          async () => {
            const { rows } = await locker.query(
              `select count(*)::int as n from pg_stat_activity
                where datname = current_database() and wait_event_type = 'Lock'`,
            );
            return rows[0].n > 0 ? true : undefined;
          },
          10_000,
          20,
        );

        const stopped = r2.server.stop();
        await sleep(300);
        assert.equal(r2.server.child.exitCode, null, 'the replica exited with a request in flight');

        await locker.query('rollback');
        locked = false;
        const reply = await inFlight;
        assert.equal(reply.status, 200, JSON.stringify(reply.body));
        assert.equal(reply.body.data[0].project_id, projects[0]);
        assert.equal(await stopped, 0, r2.server.output());
      } finally {
        if (locked) await locker.query('rollback').catch(() => {});
        await locker.end();
      }
    });
  });
}
