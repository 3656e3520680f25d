import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { backends, type TestDatabase } from '../support/backends.ts';
import { newAdminKey } from '../support/remote.ts';
import { type RunningServer, startServer } from '../support/server.ts';
import { recordFigures } from './figures.ts';
import { exportState, FAULT_SEED, prng, runWrites, startLedger } from './workload.ts';

/**
 * Issue 10, item 6: `kill -9` of the server at random points of mixed concurrent writes, again and
 * again on one store. After each kill the server restarts on the same store and the state is
 * checked against every answer the clients got (test/reliability/ledger.ts): no acknowledged write
 * lost, no batch grant half applied, nothing nobody asked for, the audit log agreeing with the
 * state; and the SQLite file passes `PRAGMA integrity_check`.
 */

const ITERATIONS = Number(process.env.FTSHARE_KILL_ITERATIONS ?? 50);
/** Writes in flight at once. */
const CONCURRENCY = 12;
/** The kill comes this long (at most) after the writes start: they have begun, and many are in flight. */
const MAX_KILL_DELAY_MS = 400;

/** `PRAGMA integrity_check` and `foreign_key_check` of the SQLite file, on a read-only connection beside the server. */
function sqliteProblems(path: string): string[] {
  const db = new BetterSqlite3(path, { readonly: true });
  try {
    const integrity = db.pragma('integrity_check') as { integrity_check: string }[];
    const foreign = db.pragma('foreign_key_check') as unknown[];
    const problems = integrity.map((row) => row.integrity_check).filter((text) => text !== 'ok');
    if (foreign.length > 0) problems.push(`foreign_key_check: ${JSON.stringify(foreign.slice(0, 5))}`);
    return problems;
  } finally {
    db.close();
  }
}

for (const backend of await backends()) {
  describe(`SIGKILL during mixed writes, ${ITERATIONS} times (${backend.name})`, () => {
    let database: TestDatabase | undefined;
    let server: RunningServer | undefined;
    after(async () => {
      await server?.kill();
      await database?.drop();
    });

    test(`every acknowledged write survives each kill (seed ${FAULT_SEED})`, { timeout: 40 * 60_000 }, async () => {
      database = await backend.createDatabase();
      const db = database.url;
      const adminKey = newAdminKey();
      const random = prng(FAULT_SEED + (backend.name === 'postgres' ? 1 : 0));
      const start = async () => {
        server = await startServer({ db, adminKey, startTimeoutMs: 120_000 });
        return new URL(server.baseURL).origin;
      };

      let origin = await start();
      const ledger = await startLedger(origin, adminKey);

      const totals = {
        cutOffApplied: 0,
        lost: 0,
        halfApplied: 0,
        problems: 0,
        notStarted: 0,
        integrity: 0,
        noAnswer: 0,
        other: 0,
      };
      const failures: string[] = [];
      for (let i = 0; i < ITERATIONS; i++) {
        let stopped = false;
        const delay = Math.floor(random() * MAX_KILL_DELAY_MS);
        const running = server;
        assert.ok(running);
        const writes = runWrites({
          origin,
          adminKey,
          ledger,
          random,
          concurrency: CONCURRENCY,
          stopped: () => stopped,
        });
        await new Promise((resolve) => setTimeout(resolve, delay));
        stopped = true;
        await running.kill();
        const tally = await writes;
        totals.noAnswer += tally.noAnswer;
        for (const [status, count] of tally.statuses) {
          if (status === 200) continue;
          totals.other += count;
          failures.push(`kill ${i}: ${count} answers ${status}: ${JSON.stringify(tally.unexpected[0]?.body)}`);
        }

        try {
          origin = await start();
        } catch (error) {
          totals.notStarted++;
          throw new Error(`kill ${i} (seed ${FAULT_SEED}): the store did not open again: ${error}`);
        }
        const { problems, lost, halfApplied, unknownApplied } = ledger.reconcile(await exportState(origin, adminKey));
        totals.cutOffApplied += unknownApplied;
        totals.lost += lost;
        totals.halfApplied += halfApplied;
        totals.problems += problems.length;
        failures.push(...problems.map((problem) => `kill ${i}: ${problem}`));
        if (backend.name === 'sqlite') {
          const integrity = sqliteProblems(db);
          totals.integrity += integrity.length;
          failures.push(...integrity.map((problem) => `kill ${i}: SQLite integrity: ${problem}`));
        }
        if (failures.length > 0) break;
      }
      const code = await server?.stop();

      recordFigures('sigkill', backend.name, {
        kills: ITERATIONS,
        'acknowledged writes checked': ledger.acknowledged,
        'writes cut off by a kill (outcome unknown, each checked whole or absent)': ledger.uncertain,
        'of them found applied after the restart (committed before the kill, unanswered)': totals.cutOffApplied,
        'acknowledged writes lost': totals.lost,
        'half-applied batch grants': totals.halfApplied,
        'other problems (phantoms, audit disagreements)': totals.problems - totals.lost - totals.halfApplied,
        'restarts that failed to open the store': totals.notStarted,
        ...(backend.name === 'sqlite' ? { 'PRAGMA integrity_check problems': totals.integrity } : {}),
        'answers other than 200': totals.other,
        seed: FAULT_SEED,
      });
      assert.deepEqual(failures, [], `seed ${FAULT_SEED}`);
      assert.equal(code, 0, server?.output());
    });
  });
}
