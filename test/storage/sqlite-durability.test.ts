import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { newId } from '../../src/ids.ts';
import { SqliteStore } from '../../src/storage/sqlite.ts';
import { type WalSync, walFileSync } from '../../src/storage/sqlite-durability.ts';

/** Writes made by no API key. */
const SYSTEM = { actor: null, now: 1_700_000_000 };

/**
 * The SQLite store answers a write, and shows it to reads, only once the WAL holding it has been
 * flushed to disk (the flush runs off the event loop; `sqlite-durability.ts`). These tests hold
 * the flush back, or make it fail, through the store's `wal` option.
 */

/** The real flush, until `hold()`: then flushes wait for `release()` (or `fail()`). */
function controllableWal(path: string) {
  const real = walFileSync(path);
  let holding = false;
  const held: Array<(error: Error | null) => void> = [];
  const wal: WalSync = {
    sync(done) {
      if (holding) held.push(done);
      else real.sync(done);
    },
    close: () => real.close(),
  };
  return {
    wal,
    hold: () => {
      holding = true;
    },
    /** How many flushes are waiting. */
    waiting: () => held.length,
    release() {
      for (const done of held.splice(0)) real.sync(done);
    },
    /** Stops holding flushes back, and releases the ones waiting. */
    resume() {
      holding = false;
      for (const done of held.splice(0)) real.sync(done);
    },
    fail(error: Error) {
      for (const done of held.splice(0)) done(error);
    },
  };
}

/** Whether `promise` has settled, after letting the event loop run for a while. */
async function settledSoon(promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  promise.then(
    () => {
      settled = true;
    },
    () => {
      settled = true;
    },
  );
  await sleep(30);
  return settled;
}

/** Waits until `condition` holds, letting the event loop run. */
async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await sleep(5);
  assert.ok(condition(), 'timed out waiting');
}

describe('SQLite durability: answered and visible only once flushed', () => {
  let dir: string;
  let store: SqliteStore;
  let wal: ReturnType<typeof controllableWal>;
  let orgId: string;

  const project = (name: string) => ({
    id: newId.project(),
    orgId,
    name,
    externalKeyId: null,
    createdAt: 1_700_000_000,
    archivedAt: null,
  });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ftshare-durability-'));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  beforeEach(async () => {
    const path = join(dir, `${newId.project()}.db`);
    wal = controllableWal(path);
    store = SqliteStore.open(path, { wal: wal.wal });
    await store.migrate();
    orgId = newId.organization();
    await store.createOrganization({ id: orgId, name: 'acme', createdAt: 1_700_000_000 }, null, SYSTEM);
  });
  afterEach(async () => {
    wal.resume();
    await store.close();
  });

  test('a write waits for its flush, and reads do not see it before then', async () => {
    wal.hold();
    const created = project('held');
    const write = store.createProject(created, SYSTEM);

    assert.equal(await settledSoon(write), false, 'answered before its flush');
    assert.equal(wal.waiting(), 1);
    assert.equal(await store.getProject(orgId, created.id), undefined, 'visible before its flush');

    wal.release();
    await write;
    assert.equal((await store.getProject(orgId, created.id))?.name, 'held', 'answered but not visible');
  });

  test('commits made during a flush wait for the next one; reads stay at what is durable', async () => {
    wal.hold();
    const first = project('first');
    const firstWrite = store.createProject(first, SYSTEM);
    await until(() => wal.waiting() === 1);

    const second = project('second');
    const secondWrite = store.createProject(second, SYSTEM);
    // The second commit happens while the first flush is out; it may not ride on that flush.
    await sleep(20);
    assert.equal(wal.waiting(), 1, 'one flush at a time');

    wal.release();
    await firstWrite;
    assert.ok(await store.getProject(orgId, first.id));
    assert.equal(await settledSoon(secondWrite), false, 'the second write rode on a flush begun before it');
    assert.equal(await store.getProject(orgId, second.id), undefined, 'the second write is visible before its flush');

    await until(() => wal.waiting() === 1);
    wal.release();
    await secondWrite;
    assert.ok(await store.getProject(orgId, second.id));
  });

  test('writes in one flush are answered together, each with its own outcome', async () => {
    wal.hold();
    const projects = Array.from({ length: 20 }, (_, i) => project(`p${i}`));
    const writes = projects.map((p) => store.createProject(p, SYSTEM));
    await until(() => wal.waiting() === 1);
    assert.equal(await settledSoon(Promise.race(writes)), false, 'a write was answered before its flush');
    wal.resume();
    await Promise.all(writes);
    const page = await store.listProjects(orgId, { limit: 100, includeArchived: false });
    assert.notEqual(page, 'unknown_cursor');
    if (page !== 'unknown_cursor') assert.equal(page.items.length, projects.length);
  });

  test('a failed flush fails its writes and every later one with a 503-class error; reads go on', async () => {
    const before = project('before');
    await store.createProject(before, SYSTEM);

    wal.hold();
    const lost = project('lost');
    const write = store.createProject(lost, SYSTEM);
    await until(() => wal.waiting() === 1);
    wal.fail(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }));

    const error = await write.then(
      () => assert.fail('a write whose flush failed was answered'),
      (e: unknown) => e,
    );
    assert.equal((error as { code?: string }).code, 'SQLITE_IOERR_FSYNC');
    assert.ok(store.isUnavailableError(error), 'a failed flush must answer 503, not 500');

    const later = await store.createProject(project('later'), SYSTEM).then(
      () => assert.fail('a write after a failed flush was accepted'),
      (e: unknown) => e,
    );
    assert.ok(store.isUnavailableError(later));

    assert.equal((await store.getProject(orgId, before.id))?.name, 'before', 'durable data stays readable');
    assert.equal(await store.getProject(orgId, lost.id), undefined, 'a write that failed its flush is visible');
    await assert.rejects(store.ping(), /could not make a commit durable/, 'readiness must fail');
  });
});

/**
 * Twenty clients writing back to back for `ms`: a new group always begins while the last is
 * flushed, which is when SQLite never starts the WAL over by itself. Returns how many writes were
 * made and the most frames the WAL ever held (restarting reuses the file from its start, so its
 * size is that most).
 */
async function steadyWrites(restartFrames: number, ms: number): Promise<{ written: number; framesEverHeld: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'ftshare-wal-'));
  const path = join(dir, 'steady.db');
  const store = SqliteStore.open(path, { walRestartFrames: restartFrames });
  try {
    await store.migrate();
    const orgId = newId.organization();
    await store.createOrganization({ id: orgId, name: 'acme', createdAt: 1_700_000_000 }, null, SYSTEM);
    const deadline = Date.now() + ms;
    let written = 0;
    await Promise.all(
      Array.from({ length: 20 }, async () => {
        while (Date.now() < deadline) {
          const id = newId.project();
          await store.createProject(
            { id, orgId, name: id, externalKeyId: null, createdAt: 1, archivedAt: null },
            SYSTEM,
          );
          written++;
        }
      }),
    );
    return { written, framesEverHeld: Math.round(statSync(`${path}-wal`).size / (4096 + 24)) };
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

describe('SQLite WAL under steady writes', () => {
  test('the writer starts the WAL over once it passes its limit, instead of letting it grow', async () => {
    // The same load with restarts off shows what "left to grow" is for these writes (each write
    // touches several pages: its rows, their indexes, its audit event's).
    const grown = await steadyWrites(Number.MAX_SAFE_INTEGER, 2_000);
    const bounded = await steadyWrites(50, 2_000);
    assert.ok(bounded.written >= 500, `only ${bounded.written} writes in 2 s: too few to tell`);
    // Per write, so the two runs compare even if the machine was busier during one of them.
    const grownPerWrite = grown.framesEverHeld / grown.written;
    const boundedPerWrite = bounded.framesEverHeld / bounded.written;
    assert.ok(
      boundedPerWrite < grownPerWrite / 4,
      `started over at 50 frames, the WAL still held ${bounded.framesEverHeld} frames over ${bounded.written} writes; ` +
        `left to grow, ${grown.framesEverHeld} over ${grown.written}`,
    );
  });
});
