import { type Static, type TUnsafe, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';

/**
 * Every setting of the server, in one table: its flag, its environment variable, its default and
 * what it does. The CLI builds `ftshare serve --help` from it, reads flags and environment through
 * it, and `parseConfig` validates the result once into a frozen Config. Nothing else reads env.
 */
export const SETTINGS = [
  { key: 'host', flag: '--host <address>', env: 'HOST', default: '127.0.0.1', help: 'address to listen on' },
  {
    key: 'port',
    flag: '--port <number>',
    env: 'PORT',
    default: '8080',
    help: 'port to listen on (0 picks a free one)',
  },
  {
    key: 'db',
    flag: '--db <store>',
    env: 'FTSHARE_DB',
    default: './data/ftshare.db',
    help: 'the store: a SQLite file path, :memory:, or a postgres:// URL',
  },
  {
    key: 'adminKey',
    flag: '--admin-key <key>',
    env: 'FTSHARE_ADMIN_KEY',
    default: undefined,
    help: 'make this sk-admin-... key an admin key of the default organization (prefer the env var: flags show in ps)',
  },
  {
    key: 'adminKeyFile',
    flag: '--admin-key-file <path>',
    env: 'FTSHARE_ADMIN_KEY_FILE',
    default: undefined,
    help: 'where a first-start admin key is written (mode 0600) instead of a terminal; default when stderr is not a terminal: <db>.admin-key beside a SQLite file, else ./ftshare-admin-key',
  },
  {
    key: 'logLevel',
    flag: '--log-level <level>',
    env: 'LOG_LEVEL',
    default: 'info',
    help: 'fatal, error, warn, info, debug or silent',
  },
  {
    key: 'pgPoolSize',
    flag: '--pg-pool-size <n>',
    env: 'FTSHARE_PG_POOL_SIZE',
    default: '10',
    help: 'PostgreSQL connections per replica',
  },
  {
    key: 'pgStatementTimeoutMs',
    flag: '--pg-statement-timeout-ms <ms>',
    env: 'FTSHARE_PG_STATEMENT_TIMEOUT_MS',
    default: '5000',
    help: 'PostgreSQL statement timeout (0 = none); the client gives up 1 s later on an unreachable server',
  },
  {
    key: 'pgConnectTimeoutMs',
    flag: '--pg-connect-timeout-ms <ms>',
    env: 'FTSHARE_PG_CONNECT_TIMEOUT_MS',
    default: '5000',
    help: 'how long opening (or waiting for) a PostgreSQL connection may take before a request answers 503',
  },
  {
    key: 'pgTls',
    flag: '--pg-tls <mode>',
    env: 'FTSHARE_PG_TLS',
    default: 'disable',
    help: 'PostgreSQL TLS: disable, require (encrypted) or verify-full (encrypted, certificate checked)',
  },
  {
    key: 'shutdownTimeoutMs',
    flag: '--shutdown-timeout-ms <ms>',
    env: 'FTSHARE_SHUTDOWN_TIMEOUT_MS',
    default: '10000',
    help: 'on SIGTERM, how long in-flight requests may take to finish',
  },
] as const;

const Enum = <T extends string[]>(values: [...T]) =>
  Type.Union(values.map((v) => Type.Literal(v))) as unknown as TUnsafe<T[number]>;

const ConfigSchema = Type.Object({
  host: Type.String({ minLength: 1 }),
  port: Type.Integer({ minimum: 0, maximum: 65535 }),
  db: Type.String({ minLength: 1 }),
  adminKey: Type.Optional(Type.String({ minLength: 1 })),
  adminKeyFile: Type.Optional(Type.String({ minLength: 1 })),
  logLevel: Enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
  pgPoolSize: Type.Integer({ minimum: 1, maximum: 1000 }),
  pgStatementTimeoutMs: Type.Integer({ minimum: 0 }),
  pgConnectTimeoutMs: Type.Integer({ minimum: 1 }),
  pgTls: Enum(['disable', 'require', 'verify-full']),
  shutdownTimeoutMs: Type.Integer({ minimum: 0 }),
});

export type Config = Readonly<Static<typeof ConfigSchema>>;

/** Validates raw settings (strings from flags or env) into a frozen Config, or throws naming each bad one. */
export function parseConfig(raw: Record<string, unknown>): Config {
  const present = Object.fromEntries(Object.entries(raw).filter(([, value]) => value !== undefined && value !== ''));
  const converted = Value.Convert(ConfigSchema, present);
  if (!Value.Check(ConfigSchema, converted)) {
    const problems = [...Value.Errors(ConfigSchema, converted)].map((e) => {
      const setting = SETTINGS.find((s) => `/${s.key}` === e.path);
      return setting ? `${setting.flag.split(' ')[0]} / ${setting.env}: ${e.message}` : `${e.path}: ${e.message}`;
    });
    throw new Error(`invalid configuration:\n  ${problems.join('\n  ')}`);
  }
  return Object.freeze(converted);
}
