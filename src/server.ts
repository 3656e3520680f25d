import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { type AppOptions, buildApp } from './app.ts';
import type { Config } from './config.ts';
import { bootstrapAdminKey } from './domain/bootstrap.ts';
import { readSeedFile } from './emulator/world.ts';
import { adminKeyDestination, terminalNotice, writeAdminKeyFile } from './first-admin-key.ts';
import { systemClock } from './ids.ts';
import { createLogger } from './logger.ts';
import { isPostgresUrl, openStore, storeOptions } from './storage/open.ts';
import type { Store } from './storage/store.ts';

const version = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string })
  .version;

/**
 * The processes around the app (`ftshare serve`, `ftshare emulate`).
 *
 * stdout carries the log stream only (JSON lines; pretty on a terminal). What a person starting
 * the server reads — where it listens, a first-start admin key on a terminal — goes to stderr.
 */

const processLogger = (config: Config) => createLogger(config.logLevel, { pretty: process.stdout.isTTY === true });

/**
 * What only code can ask of a server process, never a setting: the benchmark measures writes
 * against the same server with audit events left out (`bench/server-without-audit.ts`).
 */
export type ProcessOverrides = { audit?: false };

function openProcessStore(config: Config, logger: Logger, overrides: ProcessOverrides = {}): Promise<Store> {
  return openStore({
    // Message and code only: pg attaches its whole client object to these errors.
    ...storeOptions(config, (error) =>
      logger.warn(
        { err: { message: error.message, code: (error as { code?: unknown }).code } },
        'idle store connection failed',
      ),
    ),
    ...overrides,
  });
}

/**
 * Builds the app over `store`, listens, says where (on stderr), and on SIGTERM/SIGINT stops
 * accepting, lets in-flight requests finish (up to the shutdown timeout), then closes the store.
 */
async function run(
  config: Config,
  store: Store,
  logger: Logger,
  what: string,
  options: Omit<AppOptions, 'store' | 'logger'>,
): Promise<void> {
  const app = await buildApp({ store, logger, version, baseModels: config.baseModels, limits: config, ...options });
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'draining in-flight requests');
    const force = setTimeout(() => {
      logger.error('shutdown timed out; exiting with requests still in flight');
      process.exit(1);
    }, config.shutdownTimeoutMs);
    force.unref();
    // app.close() closes the connections idle at that moment; a keep-alive connection whose request
    // was in flight becomes idle only when its response is sent, and would then hold the close open
    // until its keep-alive timeout. Closing idle connections until the server is closed ends each
    // one as soon as its last response is out.
    const sweep = setInterval(() => app.server.closeIdleConnections(), 50);
    try {
      await app.close();
      await store.close();
      logger.info('stopped');
    } catch (error) {
      logger.error({ err: error }, 'shutdown failed');
      process.exitCode = 1;
    } finally {
      clearInterval(sweep);
    }
  };
  // `on`, not `once`: a repeated signal (npm forwards a second SIGINT) must find this handler, not
  // Node's default (exit at once, mid-drain).
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));

  // Listening only once the signals are handled: a signal can never find the default handler
  // (exit at once) between the port opening and the handlers being set.
  let address: string;
  try {
    address = await app.listen({ host: config.host, port: config.port });
  } catch (error) {
    if (stopping) return; // stopped while starting: nothing to announce
    throw error;
  }
  if (stopping) return;
  const where = isPostgresUrl(config.db) ? 'postgres' : `sqlite ${config.db}`;
  process.stderr.write(`ftshare ${version} ${what} listening on ${address}/v1 (store: ${where})\n`);
}

/** `ftshare serve`: open the store, make sure an admin key exists, and serve. */
export async function serve(config: Config, overrides: ProcessOverrides = {}): Promise<void> {
  const logger = await processLogger(config);
  const store = await openProcessStore(config, logger, overrides);
  const bootstrap = await bootstrapAdminKey(store, systemClock, config.adminKey);
  if (bootstrap.kind === 'minted') {
    try {
      deliverFirstAdminKey(bootstrap.secret, config, logger);
    } catch (error) {
      await store.close();
      throw error;
    }
  }
  await run(config, store, logger, 'server', {});
}

/**
 * `ftshare emulate`: the same app in emulator mode, on an in-memory store by default, with the
 * seed file (if any) loaded first. No admin key is minted: any unknown bearer is one.
 */
export async function emulate(config: Config & { seed?: string }): Promise<void> {
  const seed = config.seed === undefined ? null : await readSeedFile(config.seed);
  const logger = await processLogger(config);
  const store = await openProcessStore(config, logger);
  await run(config, store, logger, 'emulator', { emulator: { seed } });
}

/** The minted key goes to the terminal or to a file, never into the log stream (first-admin-key.ts). */
function deliverFirstAdminKey(secret: string, config: Config, logger: Logger): void {
  const destination = adminKeyDestination({
    db: config.db,
    adminKeyFile: config.adminKeyFile,
    stderrIsTTY: process.stderr.isTTY === true,
    cwd: process.cwd(),
  });
  if (destination.kind === 'terminal') {
    process.stderr.write(terminalNotice(secret));
    logger.warn('no admin key existed: one was created for the default organization and shown on the terminal');
    return;
  }
  try {
    writeAdminKeyFile(destination.path, secret);
  } catch (error) {
    throw new Error(
      `no admin key existed and the one created could not be written to ${destination.path} ` +
        `(${error instanceof Error ? error.message : String(error)}). Start again with FTSHARE_ADMIN_KEY set ` +
        'to a key of your choosing, or --admin-key-file naming a writable path.',
    );
  }
  logger.warn(
    { file: destination.path },
    'no admin key existed: one was created for the default organization and written to a file only its owner can read',
  );
  process.stderr.write(
    `ftshare: no admin key existed, so one was created for the default organization and written to ${destination.path} (mode 0600).\n`,
  );
}
