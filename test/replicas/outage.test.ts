import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { PG_ADMIN_URL, postgresOnly, type TestDatabase } from '../support/backends.ts';
import { type Client, checkpointName, eventually, ReplicaSet, type Reply } from '../support/replicas.ts';
import { TcpProxy } from '../support/tcp-proxy.ts';

/**
 * Issue item 4: with its PostgreSQL stopped or unreachable a replica answers 503 in the OpenAI
 * envelope with `x-should-retry: true`, fails /readyz, keeps /healthz and its process, and
 * recovers by itself when the database is back.
 *
 * The shared PostgreSQL is never stopped (other runs use it): the replica reaches it through a TCP
 * proxy in this process, and "the database stops" when the proxy drops every connection and
 * stops listening, or "becomes unreachable" when the proxy keeps connections open but lets
 * nothing through.
 */
const postgres = await postgresOnly('the database outage runs (test/replicas/outage.test.ts)');

const STATEMENT_TIMEOUT_MS = 2_000;
const CONNECT_TIMEOUT_MS = 1_000;
/** How long any request may take while the database is away: the client gives up a second after the statement timeout. */
const OUTAGE_ANSWER_MS = STATEMENT_TIMEOUT_MS + 1_000 + CONNECT_TIMEOUT_MS + 5_000;

function assertUnavailable(reply: Reply, what: string): void {
  assert.equal(reply.status, 503, `${what}: ${reply.status} ${JSON.stringify(reply.body)}`);
  assert.equal(reply.headers.get('x-should-retry'), 'true', what);
  assert.equal(reply.headers.get('retry-after'), '1', what);
  assert.ok(reply.headers.get('x-request-id'), what);
  assert.deepEqual(
    reply.body,
    {
      error: {
        message: 'The service is temporarily unable to reach its store. Please retry shortly.',
        type: 'server_error',
        param: null,
        code: 'store_unavailable',
      },
    },
    what,
  );
}

if (postgres) {
  describe('a replica whose PostgreSQL goes away', { timeout: 150_000 }, () => {
    const replicas = new ReplicaSet();
    let database: TestDatabase;
    let proxy: TcpProxy;
    let replica: Client;
    let checkpoint: string;
    let project: string;

    before(async () => {
      database = await postgres.createDatabase();
      const target = new URL(PG_ADMIN_URL);
      proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port || 5432) });
      [replica] = (await replicas.start(1, proxy.route(database.url), {
        args: [
          '--pg-statement-timeout-ms',
          String(STATEMENT_TIMEOUT_MS),
          '--pg-connect-timeout-ms',
          String(CONNECT_TIMEOUT_MS),
          '--pg-pool-size',
          '4',
        ],
        startTimeoutMs: 60_000,
      })) as [Client];
      project = await replica.createProject('owner');
      checkpoint = checkpointName();
      await replica.registerCheckpoint(checkpoint, project);
    });

    after(async () => {
      await replicas.closeAll();
      await proxy?.close();
      await database?.drop();
    });

    /** Every kind of request answers 503 (within the deadline), /readyz too, /healthz 200, the process lives. */
    async function assertOutage(): Promise<void> {
      const requests: [string, () => Promise<Reply>][] = [
        ['grant', () => replica.grant(checkpoint, [project], OUTAGE_ANSWER_MS)],
        [
          'list',
          () =>
            replica.request('GET', `/v1/fine_tuning/checkpoints/${checkpoint}/permissions`, {
              timeoutMs: OUTAGE_ANSWER_MS,
            }),
        ],
        [
          'project create',
          () =>
            replica.request('POST', '/v1/organization/projects', { body: { name: 'x' }, timeoutMs: OUTAGE_ANSWER_MS }),
        ],
        ['readyz', () => replica.request('GET', '/readyz', { auth: false, timeoutMs: OUTAGE_ANSWER_MS })],
      ];
      // Twice over: the first requests meet the broken connections, the next ones new connection attempts.
      for (let round = 0; round < 2; round++) {
        const replies = await Promise.all(requests.map(([, send]) => send()));
        for (const [i, reply] of replies.entries()) assertUnavailable(reply, `${requests[i]?.[0]} (round ${round})`);
      }
      const health = await replica.request('GET', '/healthz', { auth: false, timeoutMs: 2_000 });
      assert.equal(health.status, 200);
      assert.equal(replica.server.child.exitCode, null, replica.server.output());
      assert.equal(replica.server.child.signalCode, null);
    }

    /** Without a restart, the same process serves again once the database is back. */
    async function assertRecovers(upOptions?: { resumeStalled: boolean }): Promise<void> {
      const pid = replica.server.child.pid;
      await proxy.up(upOptions);
      await eventually(
        'the replica serves again',
        async () => ((await replica.grant(checkpoint, [project], OUTAGE_ANSWER_MS)).status === 200 ? true : undefined),
        20_000,
        200,
      );
      assert.equal((await replica.request('GET', '/readyz', { auth: false })).status, 200);
      const listed = await replica.listPage(checkpoint);
      assert.equal(listed.data[0]?.project_id, project);
      assert.equal(replica.server.child.pid, pid);
      assert.equal(replica.server.child.exitCode, null);
    }

    test('database stopped: 503 with x-should-retry, /readyz 503, /healthz 200, process up; then recovers', async () => {
      // Idle pooled connections exist now; stopping the database breaks them.
      assert.equal((await replica.request('GET', '/readyz', { auth: false })).status, 200);
      await proxy.down();
      try {
        await assertOutage();
      } finally {
        await assertRecovers();
      }
    });

    test('database unreachable (nothing gets through): 503 within the timeouts, not a hang; then recovers', async () => {
      assert.equal((await replica.request('GET', '/readyz', { auth: false })).status, 200);
      proxy.stall();
      try {
        const started = Date.now();
        await assertOutage();
        assert.ok(Date.now() - started < 4 * OUTAGE_ANSWER_MS);
      } finally {
        // The harsher way back: the connections that were cut off stay silent for good, so the
        // replica recovers only if it gives up on them and connects afresh.
        await assertRecovers({ resumeStalled: false });
      }
    });

    test('a request in flight when the database stops answers 503, and the process survives', async () => {
      // Hold (directly, not through the proxy) a lock the grant needs, so it is mid-transaction
      // on a pooled connection when that connection is cut.
      const locker = new pg.Client({ connectionString: database.url });
      await locker.connect();
      try {
        await locker.query('begin');
        await locker.query('select * from checkpoints where name = $1 for update', [checkpoint]);
        const inFlight = replica.grant(checkpoint, [project], OUTAGE_ANSWER_MS);
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
          10,
        );
        // It now waits up to the statement timeout: cut its connection well before that.
        await proxy.down();
        assertUnavailable(await inFlight, 'the in-flight grant');
        const health = await replica.request('GET', '/healthz', { auth: false, timeoutMs: 2_000 });
        assert.equal(health.status, 200);
        assert.equal(replica.server.child.exitCode, null, replica.server.output());
      } finally {
        await locker.query('rollback').catch(() => {});
        await locker.end();
        await assertRecovers();
      }
    });

    test('a statement the database cancels for taking too long answers 503, not 500', async () => {
      const locker = new pg.Client({ connectionString: database.url });
      await locker.connect();
      try {
        await locker.query('begin');
        await locker.query('select * from checkpoints where name = $1 for update', [checkpoint]);
        // The grant waits for the lock until the statement timeout cancels it.
        assertUnavailable(await replica.grant(checkpoint, [project], OUTAGE_ANSWER_MS), 'the timed-out grant');
      } finally {
        await locker.query('rollback').catch(() => {});
        await locker.end();
      }
      assert.equal((await replica.grant(checkpoint, [project])).status, 200);
    });
  });
}
