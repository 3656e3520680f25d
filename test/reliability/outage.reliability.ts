import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { PG_ADMIN_URL, postgresOnly, type TestDatabase } from '../support/backends.ts';
import { newAdminKey } from '../support/remote.ts';
import { type RunningServer, startServer } from '../support/server.ts';
import { TcpProxy } from '../support/tcp-proxy.ts';
import { recordFigures } from './figures.ts';
import { outageCycle, type Recovery } from './outage-cycle.ts';
import { exportState, FAULT_SEED, prng, startLedger } from './workload.ts';

/**
 * Issue 10, item 6: PostgreSQL going away under mixed writes, without restarting ftshare. While
 * it is away every answer is 503 with `retry-after` (and `x-should-retry`); once it is back, full
 * service within 5 s, measured as the time after which every request sent succeeds; and no
 * acknowledged write is lost across the outages.
 *
 * "Away" through a TCP proxy between the server and the shared PostgreSQL (which is never
 * stopped): `down` is a stopped database (connections reset, new ones refused), `stall` an
 * unreachable one (nothing gets through, connections hang) that comes back having forgotten the
 * connections it had, so the pool must give up on them.
 *
 * The stall is the harsher case: the transactions cut off by it stay open on the server, holding
 * their locks, until `idle_in_transaction_session_timeout` ends them, and the idle pooled
 * connections from before it are silent for good (src/storage/postgres.ts deals with both).
 */
const postgres = await postgresOnly('the PostgreSQL outage faults (test/reliability/outage.reliability.ts)');

const CYCLES = (process.env.FTSHARE_OUTAGE_CYCLES ?? 'down,stall,down,down,stall').split(',') as ('down' | 'stall')[];
const OUTAGE_MS = 3_000;
const STATEMENT_TIMEOUT_MS = 2_000;
const FULL_SERVICE_WITHIN_MS = 5_000;
/** How long the load goes on after the database is back: long enough to show service is whole. */
const AFTER_MS = 8_000;

if (postgres) {
  describe('PostgreSQL away under load, ftshare left running', () => {
    let database: TestDatabase | undefined;
    let proxy: TcpProxy | undefined;
    let server: RunningServer | undefined;
    after(async () => {
      await server?.kill();
      await proxy?.close();
      await database?.drop();
    });

    test(`503 with retry-after while away, full service within ${FULL_SERVICE_WITHIN_MS / 1000} s of its return, nothing acknowledged lost`, {
      timeout: 10 * 60_000,
    }, async () => {
      database = await postgres.createDatabase();
      const target = new URL(PG_ADMIN_URL);
      proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port || 5432) });
      const adminKey = newAdminKey();
      server = await startServer({
        db: proxy.route(database.url),
        adminKey,
        args: [
          '--pg-statement-timeout-ms',
          String(STATEMENT_TIMEOUT_MS),
          '--pg-connect-timeout-ms',
          '1000',
          '--pg-pool-size',
          '6',
        ],
        startTimeoutMs: 120_000,
      });
      const pid = server.child.pid;
      const origin = new URL(server.baseURL).origin;
      const ledger = await startLedger(origin, adminKey);
      const random = prng(FAULT_SEED);

      const problems: string[] = [];
      const recoveries: Recovery[] = [];
      let unavailable = 0;
      for (const kind of CYCLES) {
        const cycle = await outageCycle({
          kind,
          origin,
          adminKey,
          ledger,
          random,
          takeDown: async () => (kind === 'down' ? proxy?.down() : proxy?.stall()),
          bringBack: async () => proxy?.up({ resumeStalled: false }),
          outageMs: OUTAGE_MS,
          afterMs: AFTER_MS,
          fullServiceWithinMs: FULL_SERVICE_WITHIN_MS,
        });
        recoveries.push(cycle.recovery);
        unavailable += cycle.unavailable;
        problems.push(...cycle.problems);
      }

      const check = ledger.reconcile(await exportState(origin, adminKey));
      problems.push(...check.problems);
      assert.equal(server.child.pid, pid, 'the same process throughout');
      assert.equal(server.child.exitCode, null, server.output());

      const worst = (kind: string) =>
        Math.max(...recoveries.filter((r) => r.kind === kind).map((r) => r.fullServiceMs));
      recordFigures('pg-outage', 'postgres', {
        outages: CYCLES.length,
        'outage length': [OUTAGE_MS, 'ms'],
        '503 answers (all with retry-after)': unavailable,
        'full service after the database is back, per outage': recoveries
          .map((r) => `${r.kind} ${r.fullServiceMs} ms (first 200 at ${r.firstOkMs} ms)`)
          .join('; '),
        'full service after a stopped database is back, worst': [worst('down'), 'ms'],
        'full service after an unreachable database is back, worst': [worst('stall'), 'ms'],
        'acknowledged writes checked': ledger.acknowledged,
        'acknowledged writes lost': check.lost,
        'half-applied batch grants': check.halfApplied,
        'ftshare restarts': 0,
      });
      assert.deepEqual(problems, []);
    });
  });
}
