import { readFileSync } from 'node:fs';
import pino from 'pino';
import { type AppOptions, buildApp } from './app.ts';
import type { Config } from './config.ts';
import { bootstrapAdminKey } from './domain/bootstrap.ts';
import { readSeedFile } from './emulator/world.ts';
import { systemClock } from './ids.ts';
import { LOG_REDACTION } from './redact.ts';
import { isPostgresUrl, openStore, storeOptions } from './storage/open.ts';
import type { Store } from './storage/store.ts';

const version = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string })
  .version;

type Logger = ReturnType<typeof pino>;

/** The logger of a server process: JSON lines, and keys never in them. */
function processLogger(config: Config): Logger {
  // Keys must never reach a log line, whatever a future log statement includes.
  return pino({ level: config.logLevel, ...LOG_REDACTION });
}

async function openProcessStore(config: Config, logger: Logger): Promise<Store> {
  return openStore(
    // Message and code only: pg attaches its whole client object to these errors.
    storeOptions(config, (error) =>
      logger.warn(
        { err: { message: error.message, code: (error as { code?: unknown }).code } },
        'idle store connection failed',
      ),
    ),
  );
}

/**
 * Builds the app over `store`, listens, announces where, and on SIGTERM/SIGINT stops accepting,
 * lets in-flight requests finish (up to the shutdown timeout), then closes the store.
 */
async function run(
  config: Config,
  store: Store,
  logger: Logger,
  what: string,
  options: Omit<AppOptions, 'store' | 'logger'>,
): Promise<void> {
  const app = await buildApp({ store, logger, version, baseModels: config.baseModels, limits: config, ...options });
  const address = await app.listen({ host: config.host, port: config.port });
  const where = isPostgresUrl(config.db) ? 'postgres' : `sqlite ${config.db}`;
  process.stdout.write(`ftshare ${version} ${what} listening on ${address}/v1 (store: ${where})\n`);

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
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}

/** `ftshare serve`: open the store, make sure an admin key exists, and serve. */
export async function serve(config: Config): Promise<void> {
  const logger = processLogger(config);
  const store = await openProcessStore(config, logger);
  const bootstrap = await bootstrapAdminKey(store, systemClock, config.adminKey);
  if (bootstrap.kind === 'minted') {
    // Printed once, on stdout rather than in the log stream: it is the only copy.
    process.stdout.write(
      [
        '',
        '  ftshare: no admin key existed, so one was created for the default organization.',
        '  It is shown this once and stored only as a hash; keep it somewhere safe:',
        '',
        `      ${bootstrap.secret}`,
        '',
        '  (Set FTSHARE_ADMIN_KEY to choose your own instead.)',
        '',
        '',
      ].join('\n'),
    );
  }
  await run(config, store, logger, 'server', {});
}

/**
 * `ftshare emulate`: the same app in emulator mode, on an in-memory store by default, with the
 * seed file (if any) loaded first. No admin key is minted: any unknown bearer is one.
 */
export async function emulate(config: Config & { seed?: string }): Promise<void> {
  const seed = config.seed === undefined ? null : await readSeedFile(config.seed);
  const logger = processLogger(config);
  const store = await openProcessStore(config, logger);
  await run(config, store, logger, 'emulator', { emulator: { seed } });
}
