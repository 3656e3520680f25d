import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

/**
 * A database of the bench's own: its FTSHARE_DB value, how to bring its planner statistics up to
 * date after seeding (what PostgreSQL's autovacuum does for a store in service), and how to remove it.
 */
export type BenchDatabase = { url: string; analyze(): Promise<void>; drop(): Promise<void> };

/** A fresh SQLite file (with its -wal and -shm) in a temporary directory of this run. */
export function sqliteDatabase(tag: string): BenchDatabase {
  const dir = join(tmpdir(), `ftshare-bench-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${tag}.db`);
  return {
    url: path,
    // The server runs without SQLite statistics, as it does in service; its indexes are chosen for that.
    async analyze() {},
    async drop() {
      for (const suffix of ['', '-wal', '-shm', '-journal']) rmSync(`${path}${suffix}`, { force: true });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A fresh PostgreSQL database `ftshare_bench_<pid>_<tag>_<random>` created through `adminUrl`
 * (which is only used to create and drop it; nothing in the database it names is touched).
 */
export async function postgresDatabase(adminUrl: string, tag: string): Promise<BenchDatabase> {
  const name = `ftshare_bench_${process.pid}_${tag}_${randomBytes(3).toString('hex')}`;
  const admin = async (statement: string) => {
    const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 5_000 });
    await client.connect();
    try {
      await client.query(statement);
    } finally {
      await client.end();
    }
  };
  await admin(`create database ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    // Without statistics on a table loaded a moment ago, PostgreSQL plans a page of a checkpoint's
    // permissions as a bitmap scan and a sort of all of them (5 ms, not 0.03 ms at 1,000); a store
    // in service has them from autovacuum within minutes.
    async analyze() {
      const client = new pg.Client({ connectionString: url.toString(), connectionTimeoutMillis: 5_000 });
      await client.connect();
      try {
        await client.query('analyze');
      } finally {
        await client.end();
      }
    },
    drop: () => admin(`drop database if exists ${name} with (force)`),
  };
}

/** True when `adminUrl` answers a query. */
export async function postgresReachable(adminUrl: string): Promise<string | null> {
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 3_000 });
  try {
    await client.connect();
    await client.query('select 1');
    return null;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  } finally {
    await client.end().catch(() => {});
  }
}
