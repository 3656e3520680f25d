import { LRUCache } from 'lru-cache';
import type { Clock } from '../ids.ts';
import type { KeyRecord, Store } from '../storage/store.ts';
import { indexProjectAccess, type ProjectModels } from './access.ts';
import { bearerKey, type Caller, incorrectKey, keyWorks, MAX_KEY_LENGTH, missingKey } from './auth.ts';
import { type Freshness, freshnessFor } from './freshness.ts';
import { hashKey } from './keys.ts';

/** A cached value and the organization version it was read at (NaN: read before any was known). */
type Versioned<T> = { version: number; value: T };

export type AccessServiceOptions = {
  store: Store;
  clock: Clock;
  /** FTSHARE_BASE_MODELS: models every project may use (before its model permissions). */
  baseModels?: readonly string[];
  /** How often key use is written back (`last_used_at`); tests shorten it. */
  lastUsedFlushMs?: number;
  /**
   * The emulator: any bearer that is not a known key — any string, spaces included — acts as this
   * admin key. Known keys (seeded, created, deleted) keep their own answers.
   */
  anyBearer?: { orgId: string; keyId: string };
};

const LAST_USED_FLUSH_MS = 30_000;

/**
 * The hot path of every request: who is calling, and what their project may use — answered from
 * memory while the organization has not changed (src/domain/freshness.ts says when), from the store
 * otherwise. Keys are looked up by their SHA-256 only; the secret itself is never kept.
 */
export class AccessService {
  readonly baseModels: readonly string[];
  readonly baseModelSet: ReadonlySet<string>;
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #freshness: Freshness;
  readonly #keys = new LRUCache<string, Versioned<KeyRecord>>({ max: 50_000 });
  readonly #projects = new LRUCache<string, Versioned<ProjectModels | undefined>>({
    // Bounded by models held, not projects: one project may hold thousands.
    maxSize: 2_000_000,
    sizeCalculation: (entry) => 1 + (entry.value ? entry.value.owned.size + entry.value.shared.size : 0),
  });
  /** Key id → when it was last used, not yet written back. */
  #lastUsed = new Map<string, number>();
  readonly #flushTimer: NodeJS.Timeout;
  #flushing: Promise<void> = Promise.resolve();
  readonly #anyBearer: AccessServiceOptions['anyBearer'];

  constructor({
    store,
    clock,
    baseModels = [],
    lastUsedFlushMs = LAST_USED_FLUSH_MS,
    anyBearer,
  }: AccessServiceOptions) {
    this.#anyBearer = anyBearer;
    this.#store = store;
    this.#clock = clock;
    this.#freshness = freshnessFor(store);
    this.baseModels = [...new Set(baseModels)];
    this.baseModelSet = new Set(this.baseModels);
    this.#flushTimer = setInterval(() => void this.flushLastUsed(), lastUsedFlushMs);
    this.#flushTimer.unref();
  }

  /**
   * The caller behind an `Authorization` header, or the 401 OpenAI would answer. Synchronous when
   * the key is cached and the store is this process's alone (SQLite): no promise, no I/O.
   */
  authenticate(authorization: string | undefined): Caller | Promise<Caller> {
    const key = this.#anyBearer ? /^Bearer\s+(.+?)\s*$/i.exec(authorization ?? '')?.[1] : bearerKey(authorization);
    if (!key) throw missingKey();
    if (key.length > MAX_KEY_LENGTH) return this.#unknownKey(key);
    const hash = hashKey(key);
    const cached = this.#keys.get(hash);
    if (!cached) return this.#loadKey(hash, key);
    const version = this.#freshness.current(cached.value.orgId);
    if (typeof version === 'number') return this.#callerFrom(cached, version, hash, key);
    return version.then((v) => this.#callerFrom(cached, v, hash, key));
  }

  #callerFrom(cached: Versioned<KeyRecord>, version: number, hash: string, key: string): Caller | Promise<Caller> {
    if (cached.version !== version) return this.#reloadKey(hash, key, version);
    return this.#admit(cached.value, version, key);
  }

  /** A key seen for the first time: its organization is known only once it is read. */
  async #loadKey(hash: string, key: string): Promise<Caller> {
    const record = await this.#store.findApiKeyByHash(hash);
    if (!record) return this.#unknownKey(key);
    const version = await this.#freshness.current(record.orgId);
    // Read before its version was: kept, but checked again on its next use.
    this.#keys.set(hash, { version: Number.NaN, value: record });
    return this.#admit(record, version, key);
  }

  /** A key the store does not know: 401, or in the emulator, its admin. */
  async #unknownKey(key: string): Promise<Caller> {
    const stand = this.#anyBearer;
    if (!stand) throw incorrectKey(key);
    return {
      orgId: stand.orgId,
      keyId: stand.keyId,
      kind: 'admin',
      projectId: null,
      serviceAccountId: null,
      version: await this.#freshness.current(stand.orgId),
    };
  }

  async #reloadKey(hash: string, key: string, version: number): Promise<Caller> {
    const record = await this.#store.findApiKeyByHash(hash);
    if (!record) {
      this.#keys.delete(hash);
      return this.#unknownKey(key);
    }
    this.#keys.set(hash, { version, value: record });
    return this.#admit(record, version, key);
  }

  #admit(record: KeyRecord, version: number, key: string): Caller {
    const now = this.#clock.nowSeconds();
    // Unknown, deleted, expired and archived-project keys answer alike: their holder learns nothing.
    if (!keyWorks(record, now)) throw incorrectKey(key);
    this.#lastUsed.set(record.id, now);
    return {
      orgId: record.orgId,
      keyId: record.id,
      kind: record.kind,
      projectId: record.projectId,
      serviceAccountId: record.serviceAccountId,
      version,
    };
  }

  /**
   * What `projectId` (of the caller's organization) may use, or undefined when it does not exist.
   * From memory while the organization is at the version this request saw.
   */
  async projectModels(caller: Caller, projectId: string): Promise<ProjectModels | undefined> {
    const cacheKey = `${caller.orgId}\u0000${projectId}`;
    const cached = this.#projects.get(cacheKey);
    if (cached && cached.version === caller.version) return cached.value;
    const data = await this.#store.projectAccess(caller.orgId, projectId);
    const value = data && indexProjectAccess(data);
    this.#projects.set(cacheKey, { version: caller.version, value });
    return value;
  }

  /** Writes back when keys were last used: a batch every half minute, never a write per request. */
  async flushLastUsed(): Promise<void> {
    const previous = this.#flushing;
    const batch = this.#lastUsed;
    this.#lastUsed = new Map();
    this.#flushing = previous.then(async () => {
      if (batch.size === 0) return;
      try {
        await this.#store.touchApiKeys(batch);
      } catch {
        // The store is down: keep the newest times for the next attempt.
        for (const [id, at] of batch) if ((this.#lastUsed.get(id) ?? 0) < at) this.#lastUsed.set(id, at);
      }
    });
    return this.#flushing;
  }

  async close(): Promise<void> {
    clearInterval(this.#flushTimer);
    await this.flushLastUsed();
  }
}
