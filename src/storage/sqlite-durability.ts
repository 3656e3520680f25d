import { closeSync, fdatasync, fsyncSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import type { CompiledQuery, QueryResult } from 'kysely';
import { Statements } from './sqlite-statements.ts';

/** Flushes everything written to the WAL so far to disk, off the event loop, then calls back. */
export type WalSync = { sync(done: (error: Error | null) => void): void; close(): void };

/** Someone waiting to hear that a commit is durable. */
export type Waiter = { resolve: () => void; reject: (error: unknown) => void };

/** `fdatasync` of the database's WAL file, on libuv's thread pool. */
export function walFileSync(databasePath: string): WalSync {
  let fd: number | null = null;
  return {
    sync(done) {
      try {
        if (fd === null) {
          fd = openSync(`${databasePath}-wal`, 'r+');
          // SQLite created the WAL file when it opened the database; make its name durable too.
          const directory = openSync(dirname(databasePath), 'r');
          try {
            fsyncSync(directory);
          } finally {
            closeSync(directory);
          }
        }
      } catch (error) {
        done(error as Error);
        return;
      }
      fdatasync(fd, done);
    },
    close() {
      if (fd !== null) closeSync(fd);
      fd = null;
    },
  };
}

/**
 * The WAL size (in 4 KiB pages) past which the writer starts it over: 64 MiB. Each restart holds
 * writes back while the last of the WAL is copied; a larger WAL means fewer such pauses.
 */
export const RESTART_FRAMES = 16_384;

/** Attempts in a row to open a flush's snapshot before writes are failed for good. */
const MAX_OPEN_FAILURES = 5;

/** An error the store answers with 503 (`SqliteStore.isUnavailableError` knows the code). */
const unavailable = (message: string, cause?: unknown) =>
  Object.assign(new Error(message), { code: 'SQLITE_IOERR_FSYNC', cause });

/** A read transaction on one read-only connection; `pinned` while newer commits await the disk. */
type Snapshot = { statements: Statements; pinned: boolean };

/**
 * When a commit counts as done, and what reads outside a transaction see.
 *
 * The writer runs `synchronous=NORMAL`, so COMMIT appends to the WAL without waiting for the disk;
 * this class then flushes the WAL with `fdatasync` on libuv's thread pool. Under `FULL`, SQLite's
 * own fsync inside COMMIT held the event loop for the whole flush (4–6 ms on a busy disk), and no
 * request moved meanwhile. Two rules keep the guarantees of `FULL`:
 *
 * - A commit's waiters hear of it only after a flush that began after the commit has finished:
 *   an acknowledged write survives power loss, not only `kill -9`.
 * - No read sees a commit before it is durable, so nobody can observe a write that a crash then
 *   takes back. Reads run on a *published* snapshot known to be durable. From the first commit
 *   that waits for the disk, that snapshot is pinned. When a flush begins, a new snapshot is
 *   taken on a second connection; it holds exactly the commits the flush covers. It is published
 *   when the flush ends, before the waiters are told, so whoever hears of a write reads it next.
 *
 * With nothing waiting for the disk, a snapshot lasts until the event loop comes round: a
 * statement outside a transaction would otherwise open and close a WAL read transaction of its
 * own (file-lock system calls that cost more than the lookup).
 *
 * If a flush fails, what the kernel dropped is unknown, and any later commit could depend on it.
 * So every waiter fails, and so does every later write (`SQLITE_IOERR_FSYNC`, answered 503);
 * reads go on from the last durable snapshot. Restarting recovers from what the disk holds.
 */
export class DurableReads {
  readonly #idle: Statements[] = [];
  #published: Snapshot | null = null;
  /** Committed, waiting for a flush to begin: how many commits, and who waits on them. */
  #unsyncedCommits = 0;
  #unsynced: Waiter[] = [];
  /** Failed attempts in a row to open the snapshot a flush publishes. */
  #openFailures = 0;
  #syncing = false;
  #failed: Error | null = null;
  #settled: Array<() => void> = [];
  #afterFlush: Array<() => void> = [];
  /** Frames in the WAL, as the checkpoint worker last counted them, and the count that calls for a restart. */
  #walFrames = 0;
  #restartAt: number;
  /** When the writer last started the WAL over: counts taken before then are stale. */
  #restartedAt = 0;

  constructor(
    private readonly openReader: () => BetterSqlite3.Database,
    private readonly wal: WalSync,
    /** Copies the whole WAL back elsewhere (the checkpoint worker); true if it did. */
    private readonly checkpointRestart: () => Promise<boolean>,
    private readonly restartFrames = RESTART_FRAMES,
  ) {
    this.#restartAt = restartFrames;
  }

  read(query: CompiledQuery): QueryResult<unknown> {
    const snapshot = this.#published ?? this.#publishFresh();
    try {
      return snapshot.statements.run(query);
    } catch (error) {
      // An I/O error can end the read transaction. The next read opens another, unless commits
      // are waiting for the disk (then reads fail until the next flush publishes one).
      if (!snapshot.statements.db.inTransaction && this.#published === snapshot) {
        this.#published = null;
        this.#release(snapshot);
      }
      throw error;
    }
  }

  /** Commits are waiting for the disk: a snapshot opened now could show them. */
  get #dirty(): boolean {
    return this.#syncing || this.#unsyncedCommits > 0;
  }

  /** Why writes fail for good (a flush failed), or null. */
  get failure(): Error | null {
    return this.#failed;
  }

  /** Before the writer's COMMIT: readers must hold a snapshot from before it. */
  beforeCommit(): void {
    if (this.#failed) throw this.#failed;
    if (!this.#published) this.#publishFresh();
  }

  /** After the writer's COMMIT: `waiters` hear once it is durable. */
  committed(waiters: Waiter[]): void {
    (this.#published as Snapshot).pinned = true;
    this.#unsyncedCommits++;
    for (const waiter of waiters) this.#unsynced.push(waiter);
    if (!this.#syncing) this.#startSync();
  }

  /** Whether a flush is out: the writer holds its next group back until it ends (`afterFlush`). */
  get flushing(): boolean {
    return this.#syncing;
  }

  /** Runs `then` when the flush now out ends, whether it succeeded or failed. */
  afterFlush(then: () => void): void {
    this.#afterFlush.push(then);
  }

  /** The checkpoint worker's count of the frames in the WAL, taken at `countedAt` (ms since the epoch). */
  noteWalFrames(frames: number, countedAt: number): void {
    if (countedAt >= this.#restartedAt) this.#walFrames = frames;
  }

  /** The WAL has grown past `restartFrames`: the writer should start it over before its next group. */
  get walRestartDue(): boolean {
    return this.#walFrames >= this.#restartAt && !this.#failed;
  }

  /**
   * SQLite starts the WAL over only when a write transaction begins after a checkpoint has copied
   * all of it back into the database file, with no reader on an older snapshot. Under steady
   * writes that moment never comes by itself (a new group begins while the last one is being
   * flushed), and the WAL then grows without end, with SQLite retrying its checkpoint in every
   * COMMIT. So once the WAL is large, the writer calls this between groups, holding its lock: it
   * waits for the flush out, has the checkpoint worker copy the whole WAL back (off the event
   * loop; with no commit meanwhile, no reader holds it back), then ends the snapshot readers hold,
   * so the writer's next commit starts the WAL over. Writes wait meanwhile (a few to tens of ms,
   * the time to copy and fsync what the worker's last periodic checkpoint left). If the copy was
   * incomplete (a reader in another process), the next try waits for as much growth again.
   */
  async restartWal(): Promise<void> {
    await this.settle();
    const restarted = await this.checkpointRestart();
    // A snapshot opened before the checkpoint finished would keep SQLite from starting over.
    if (this.#published) this.#expire(this.#published);
    this.#restartAt = restarted ? this.restartFrames : this.#walFrames + this.restartFrames;
    if (restarted) this.#walFrames = 0;
    this.#restartedAt = Date.now();
  }

  /** Resolves once every commit so far is durable (or has failed). */
  async settle(): Promise<void> {
    while (this.#syncing) await new Promise<void>((resolve) => this.#settled.push(resolve));
  }

  close(): void {
    const snapshots = [...this.#idle, ...(this.#published ? [this.#published.statements] : [])];
    this.#idle.length = 0;
    this.#published = null;
    for (const { db } of snapshots) db.close();
    this.wal.close();
  }

  /** A snapshot of everything committed now, published until the event loop comes round. */
  #publishFresh(): Snapshot {
    // Only after a read failed and ended a pinned snapshot; the next flush publishes a new one.
    if (this.#dirty) throw unavailable('the read snapshot was lost while commits await the disk');
    const snapshot = this.#open();
    this.#published = snapshot;
    setImmediate(() => this.#expire(snapshot));
    return snapshot;
  }

  #expire(snapshot: Snapshot): void {
    if (this.#published !== snapshot || snapshot.pinned) return;
    this.#published = null;
    this.#release(snapshot);
  }

  #startSync(): void {
    let next: Snapshot;
    try {
      next = this.#open();
    } catch (error) {
      // EMFILE, SQLITE_BUSY…: the commits are in the WAL, not lost. Try again shortly, holding
      // the writer's next group back meanwhile; give up only if it keeps failing.
      this.#syncing = true;
      if (++this.#openFailures >= MAX_OPEN_FAILURES) {
        this.#syncing = false;
        this.#fail(error, []);
        this.#runAfterFlush();
      } else {
        setTimeout(() => {
          this.#syncing = false;
          this.#startSync();
        }, 10);
      }
      return;
    }
    this.#openFailures = 0;
    const covered = this.#unsynced;
    this.#unsynced = [];
    this.#unsyncedCommits = 0;
    next.pinned = true;
    this.#syncing = true;
    this.wal.sync((error) => this.#synced(error, covered, next));
  }

  #synced(error: Error | null, covered: Waiter[], next: Snapshot): void {
    this.#syncing = false;
    if (error) {
      this.#release(next);
      this.#fail(error, covered);
      this.#runAfterFlush();
      return;
    }
    const previous = this.#published;
    this.#published = next;
    if (previous) this.#release(previous);
    try {
      if (this.#unsyncedCommits > 0) this.#startSync();
      else {
        next.pinned = false;
        setImmediate(() => this.#expire(next));
        this.#notifySettled();
      }
      // The next group commits now, so its flush starts without waiting for the event loop.
      this.#runAfterFlush();
    } finally {
      for (const waiter of covered) waiter.resolve();
    }
  }

  #runAfterFlush(): void {
    const callbacks = this.#afterFlush;
    this.#afterFlush = [];
    for (const then of callbacks) then();
  }

  #fail(cause: unknown, covered: Waiter[]): void {
    this.#failed = unavailable('the SQLite store could not make a commit durable; restart the server', cause);
    const waiters = [...covered, ...this.#unsynced];
    this.#unsynced = [];
    this.#unsyncedCommits = 0;
    for (const waiter of waiters) waiter.reject(this.#failed);
    this.#notifySettled();
  }

  #notifySettled(): void {
    const settled = this.#settled;
    this.#settled = [];
    for (const resolve of settled) resolve();
  }

  /** Opens a read transaction and starts its snapshot (SQLite takes it at the first read). */
  #open(): Snapshot {
    const statements = this.#idle.pop() ?? new Statements(this.openReader());
    try {
      if (statements.db.inTransaction) statements.exec('rollback');
      statements.exec('begin');
      statements.get('select 1 from sqlite_schema limit 1').statement.get();
    } catch (error) {
      this.#release({ statements, pinned: false });
      throw error;
    }
    return { statements, pinned: false };
  }

  #release({ statements }: Snapshot): void {
    try {
      if (statements.db.inTransaction) statements.exec('commit');
      this.#idle.push(statements);
    } catch {
      statements.db.close();
    }
  }
}
