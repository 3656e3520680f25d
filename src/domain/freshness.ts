import type { Store } from '../storage/store.ts';

/**
 * When a cached answer may still be used. Every write that changes an organization (a grant, a
 * revoke, an archive, a key deleted, a rule set, …) moves that organization's *version*; a cached
 * answer is kept with the version it was computed at, and used only while the version is the same.
 *
 * The rule that makes caching safe: a request reads its organization's version AFTER it arrived,
 * and cached data is always read AFTER the version it is kept with. So a write acknowledged before
 * the request arrived has moved the version the request sees, and nothing cached before it is used.
 * No write ever waits for caches anywhere: there is nothing to invalidate, only versions to compare.
 */
export interface Freshness {
  /** The organization's version as of now (a promise where it must be asked of the store). */
  current(orgId: string): number | Promise<number>;
}

/**
 * One server process is the store's only writer (SQLite): it hears of each change from the store
 * itself, after it is committed and visible to reads and before it is acknowledged.
 */
export class LocalFreshness implements Freshness {
  readonly #versions = new Map<string, number>();

  constructor(store: Store) {
    store.onChange((orgId) => this.#versions.set(orgId, (this.#versions.get(orgId) ?? 0) + 1));
  }

  current(orgId: string): number {
    return this.#versions.get(orgId) ?? 0;
  }
}

type Waiter = { resolve: (version: number) => void; reject: (error: unknown) => void };

/**
 * Replicas share the store (PostgreSQL): each write counts itself in the organization's row of
 * `access_versions`, in its own transaction, and every request reads the count from the database.
 * Reads are batched: requests arriving while a read is out wait for the next one (which starts
 * after they arrived, as the rule above needs), so a busy replica reads once per round trip, not
 * once per request. A failed read fails its requests (503): never a stale answer instead.
 */
export class SharedFreshness implements Freshness {
  #next = new Map<string, Waiter[]>();
  #reading = false;
  #scheduled = false;

  constructor(private readonly read: (orgIds: readonly string[]) => Promise<Map<string, number>>) {}

  current(orgId: string): Promise<number> {
    return new Promise((resolve, reject) => {
      let waiters = this.#next.get(orgId);
      if (!waiters) {
        waiters = [];
        this.#next.set(orgId, waiters);
      }
      waiters.push({ resolve, reject });
      this.#schedule();
    });
  }

  /** The next read starts once the requests that arrived together are all in (after this I/O phase). */
  #schedule(): void {
    if (this.#reading || this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.#readNow();
    });
  }

  #readNow(): void {
    const batch = this.#next;
    this.#next = new Map();
    this.#reading = true;
    const settle = (answer: (waiter: Waiter, orgId: string) => void) => {
      for (const [orgId, waiters] of batch) for (const waiter of waiters) answer(waiter, orgId);
      // Whatever the outcome, the requests that came meanwhile go next.
      this.#reading = false;
      if (this.#next.size > 0) this.#schedule();
    };
    this.read([...batch.keys()]).then(
      (versions) => settle((waiter, orgId) => waiter.resolve(versions.get(orgId) ?? 0)),
      (error: unknown) => settle((waiter) => waiter.reject(error)),
    );
  }
}

/** The freshness rule the store needs: local when this process is its only writer, shared otherwise. */
export const freshnessFor = (store: Store): Freshness =>
  store.writers === 'local' ? new LocalFreshness(store) : new SharedFreshness((ids) => store.accessVersions(ids));
