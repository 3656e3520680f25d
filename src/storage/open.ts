import type { Config } from '../config.ts';
import type { PostgresOptions } from './postgres.ts';
import type { Store } from './store.ts';

export type StoreOptions = { db: string } & Omit<PostgresOptions, 'url'>;

/** The store settings out of the server's Config. */
export function storeOptions(config: Config, onIdleError?: (error: Error) => void): StoreOptions {
  return {
    db: config.db,
    poolSize: config.pgPoolSize,
    statementTimeoutMs: config.pgStatementTimeoutMs,
    connectTimeoutMs: config.pgConnectTimeoutMs,
    tls: config.pgTls,
    ...(onIdleError ? { onIdleError } : {}),
  };
}

export const isPostgresUrl = (db: string) => /^postgres(ql)?:\/\//.test(db);

/** Opens the store FTSHARE_DB names and brings its schema up to date. */
export async function openStore(options: StoreOptions): Promise<Store> {
  let store: Store;
  if (isPostgresUrl(options.db)) {
    const { PostgresStore } = await import('./postgres.ts');
    store = PostgresStore.open({ ...options, url: options.db });
  } else {
    const { SqliteStore } = await import('./sqlite.ts');
    store = SqliteStore.open(options.db, options.audit === undefined ? {} : { audit: options.audit });
  }
  try {
    await store.migrate();
  } catch (error) {
    await store.close();
    throw error;
  }
  return store;
}
