import { readFileSync } from 'node:fs';
import pino from 'pino';
import { buildApp } from './app.ts';
import type { Config } from './config.ts';
import { bootstrapAdminKey } from './domain/bootstrap.ts';
import { systemClock } from './ids.ts';
import { LOG_REDACTION } from './redact.ts';
import { isPostgresUrl, openStore, storeOptions } from './storage/open.ts';

const version = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string })
  .version;

/**
 * The process around the app: open the store, make sure an admin key exists, listen, and on
 * SIGTERM/SIGINT stop accepting, let in-flight requests finish, then close the store.
 */
export async function serve(config: Config): Promise<void> {
  // Keys must never reach a log line, whatever a future log statement includes.
  const logger = pino({ level: config.logLevel, ...LOG_REDACTION });
  const store = await openStore(
    // Message and code only: pg attaches its whole client object to these errors.
    storeOptions(config, (error) =>
      logger.warn(
        { err: { message: error.message, code: (error as { code?: unknown }).code } },
        'idle store connection failed',
      ),
    ),
  );

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

  const app = await buildApp({ store, logger, version, limits: config });
  const address = await app.listen({ host: config.host, port: config.port });
  const where = isPostgresUrl(config.db) ? 'postgres' : `sqlite ${config.db}`;
  process.stdout.write(`ftshare ${version} listening on ${address}/v1 (store: ${where})\n`);

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
