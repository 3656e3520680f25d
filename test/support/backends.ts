import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import pg from 'pg';
import { openStore } from '../../src/storage/open.ts';
import type { Store } from '../../src/storage/store.ts';

/**
 * The stores every contract, HTTP and SDK suite runs over. SQLite always; PostgreSQL when the
 * admin URL (FTSHARE_TEST_PG_URL, default the local trust-auth server) answers. Each PostgreSQL
 * run gets a database of its own, dropped afterwards, so concurrent runs never see each other.
 * With CI=true an unreachable PostgreSQL fails the run instead of quietly testing less.
 */
export const PG_ADMIN_URL = process.env.FTSHARE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export type TestDatabase = { url: string; drop(): Promise<void> };

export type Backend = {
  name: 'sqlite' | 'postgres';
  /** A fresh, empty database for this backend: its FTSHARE_DB value and how to remove it. */
  createDatabase(): Promise<TestDatabase>;
};

/**
 * A SQLite file in a temp directory of its own, as the server runs in production: a second
 * connection for reads, WAL flushes off the event loop. `drop` removes the directory (WAL and SHM
 * files included).
 */
const sqliteBackend: Backend = {
  name: 'sqlite',
  async createDatabase() {
    const dir = await mkdtemp(join(tmpdir(), 'ftshare-test-'));
    return { url: join(dir, 'ftshare.db'), drop: () => rm(dir, { recursive: true, force: true }) };
  },
};

function databaseUrl(name: string): string {
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

async function withAdminClient<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 3000 });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

const postgresBackend: Backend = {
  name: 'postgres',
  async createDatabase() {
    const name = `ftshare_test_${process.pid}_${randomBytes(4).toString('hex')}`;
    await withAdminClient((client) => client.query(`create database ${name}`));
    return {
      url: databaseUrl(name),
      drop: () =>
        withAdminClient((client) => client.query(`drop database if exists ${name} with (force)`)).then(() => {}),
    };
  },
};

let reachable: Promise<string | null> | undefined;

/** null when PostgreSQL answers, else why not. Asked once per process. */
export function postgresProblem(): Promise<string | null> {
  reachable ??= withAdminClient((client) => client.query('select 1')).then(
    () => null,
    (error: unknown) => (error instanceof Error ? error.message : String(error)),
  );
  return reachable;
}

/**
 * The backends to run on. When PostgreSQL is unreachable outside CI, a skipped test says so in
 * the runner's summary; in CI the same situation is a failing test.
 */
export async function backends(): Promise<Backend[]> {
  const problem = await postgresProblem();
  if (problem === null) return [sqliteBackend, postgresBackend];
  reportPostgresNotRun(problem, 'the PostgreSQL runs of this suite');
  return [sqliteBackend];
}

/**
 * Registers the test that reports `what` as not run because PostgreSQL is unreachable: skipped
 * (with the reason in the runner's summary) outside CI, failing with CI=true.
 */
export function reportPostgresNotRun(problem: string, what: string): void {
  const why = `PostgreSQL at ${PG_ADMIN_URL} is not reachable (${problem}): ${what} were NOT run`;
  if (process.env.CI === 'true') {
    test('postgres backend is reachable (required in CI)', () => {
      throw new Error(why);
    });
  } else {
    test('postgres backend', { skip: why }, () => {});
  }
}

/** The PostgreSQL backend alone, or null (after reporting it) when PostgreSQL is unreachable. */
export async function postgresOnly(what: string): Promise<Backend | null> {
  const problem = await postgresProblem();
  if (problem === null) return postgresBackend;
  reportPostgresNotRun(problem, what);
  return null;
}

/** A migrated store on a fresh database of `backend`, and how to dispose of both. */
export async function openTestStore(
  backend: Backend,
): Promise<{ store: Store; url: string; dispose(): Promise<void> }> {
  const database = await backend.createDatabase();
  const store = await openStore({ db: database.url, poolSize: 10, statementTimeoutMs: 10_000, tls: 'disable' });
  return {
    store,
    url: database.url,
    async dispose() {
      await store.close();
      await database.drop();
    },
  };
}
