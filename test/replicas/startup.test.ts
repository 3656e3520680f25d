import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { migrationsFor } from '../../src/storage/migrations.ts';
import { openStore } from '../../src/storage/open.ts';
import { postgresOnly, type TestDatabase } from '../support/backends.ts';
import { type Client, ReplicaSet } from '../support/replicas.ts';

/**
 * Issue item 2: migrations run at start under a database lock, so ten replicas started at once
 * against an empty database end with one correct schema and all ten serving (CONTRACT §4).
 */
const postgres = await postgresOnly('the ten-replica start-up runs (test/replicas/startup.test.ts)');

const TABLES = [
  'access_versions',
  'api_keys',
  'audit_events',
  'checkpoint_permissions',
  'checkpoints',
  'kysely_migration',
  'kysely_migration_lock',
  'model_permissions',
  'organizations',
  'projects',
  'service_accounts',
];

const INDEXES = [
  'api_keys_by_org_kind',
  'api_keys_by_project',
  'audit_events_by_project_type',
  'checkpoint_permissions_by_checkpoint_seq',
  'checkpoint_permissions_by_grantee',
  'checkpoints_by_owner',
  'projects_by_org',
  'service_accounts_by_project',
];

/** Runs `check` with a client on `url`, then closes it. */
async function withClient(url: string, check: (db: pg.Client) => Promise<void>): Promise<void> {
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  try {
    await check(db);
  } finally {
    await db.end();
  }
}

/** One kysely_migration row per migration, none twice. */
async function assertMigratedOnce(db: pg.Client): Promise<void> {
  const expected = Object.keys(await migrationsFor('postgres').getMigrations()).sort();
  const migrations = await db.query<{ name: string }>('select name from kysely_migration order by name');
  assert.deepEqual(
    migrations.rows.map((r) => r.name),
    expected,
    'one kysely_migration row per migration, none twice',
  );
}

if (postgres) {
  describe('ten replicas starting at once on an empty PostgreSQL database', { timeout: 200_000 }, () => {
    const replicas = new ReplicaSet();
    let database: TestDatabase;
    let clients: Client[] = [];

    before(async () => {
      database = await postgres.createDatabase();
      // Small pools: ten replicas share one server with every other test run.
      // Ten servers loading at once on a small machine take a while; the bound is for a hang.
      clients = await replicas.start(10, database, { args: ['--pg-pool-size', '2'], startTimeoutMs: 150_000 });
    });

    after(async () => {
      await replicas.closeAll();
      await database?.drop();
    });

    test('all ten start and serve requests against one shared store', async () => {
      assert.equal(clients.length, 10);
      const created = await Promise.all(clients.map((client, i) => client.createProject(`replica ${i}`)));
      assert.equal(new Set(created).size, 10);
      // Every replica sees what every other one wrote.
      for (const client of clients) {
        const page = await client.ok('GET', '/v1/organization/projects?limit=100');
        const listed = new Set(page.data.map((p: { id: string }) => p.id));
        for (const id of created) assert.ok(listed.has(id), `${client.origin} does not list ${id}`);
        const ready = await client.request('GET', '/readyz', { auth: false });
        assert.equal(ready.status, 200);
      }
    });

    test('the schema was migrated exactly once and is complete', async () => {
      await withClient(database.url, async (db) => {
        await assertMigratedOnce(db);

        const tables = await db.query<{ table_name: string }>(
          `select table_name from information_schema.tables where table_schema = 'public' order by table_name`,
        );
        assert.deepEqual(
          tables.rows.map((r) => r.table_name),
          TABLES,
        );

        const indexes = await db.query<{ indexname: string }>(
          `select indexname from pg_indexes where schemaname = 'public' and indexname = any($1) order by indexname`,
          [INDEXES],
        );
        assert.deepEqual(
          indexes.rows.map((r) => r.indexname),
          INDEXES,
        );

        // The bootstrap ran ten times too: one default organization, one row for the shared admin key.
        const orgs = await db.query<{ n: string }>(`select count(*) as n from organizations`);
        assert.equal(Number(orgs.rows[0]?.n), 1);
        const keys = await db.query<{ n: string }>(`select count(*) as n from api_keys where kind = 'admin'`);
        assert.equal(Number(keys.rows[0]?.n), 1);

        // Nobody is left holding the migration lock.
        const locks = await db.query<{ n: string }>(
          `select count(*) as n from pg_locks l join pg_database d on d.oid = l.database
            where l.locktype = 'advisory' and d.datname = current_database()`,
        );
        assert.equal(Number(locks.rows[0]?.n), 0);
      });
    });
  });

  // The processes above reach their migration whenever module loading lets them; this races ten
  // migrations of one fresh database in the same instant, which is where a missing lock shows.
  describe('ten migrations of one empty database in the same instant', { timeout: 60_000 }, () => {
    test('all succeed and the schema is migrated once', async () => {
      const database = await postgres.createDatabase();
      const opened = await Promise.allSettled(
        Array.from({ length: 10 }, () =>
          openStore({ db: database.url, poolSize: 1, statementTimeoutMs: 10_000, tls: 'disable' }),
        ),
      );
      try {
        const failures = opened.flatMap((o) => (o.status === 'rejected' ? [String(o.reason)] : []));
        assert.deepEqual(failures, []);
        await withClient(database.url, assertMigratedOnce);
      } finally {
        await Promise.all(opened.map((o) => (o.status === 'fulfilled' ? o.value.close() : undefined)));
        await database.drop();
      }
    });
  });
}
