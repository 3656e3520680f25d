import { type Static, type TUnsafe, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';

/**
 * Every setting of the server, in one table: its flag, its environment variable, its default,
 * what it does and, for a closed set, its accepted values (a bad value is refused naming them). The CLI builds `ftshare serve --help` from it, reads flags and environment through
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
    key: 'baseModels',
    flag: '--base-models <ids>',
    env: 'FTSHARE_BASE_MODELS',
    default: '',
    help: 'comma-separated model ids every project may use (before its model permissions), e.g. gpt-4o-mini,meta-llama/Llama-3.1-8B',
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
    help: 'how much to log',
    choices: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
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
    help: 'PostgreSQL TLS: require = encrypted, verify-full = encrypted and the certificate checked',
    choices: ['disable', 'require', 'verify-full'],
  },
  {
    key: 'shutdownTimeoutMs',
    flag: '--shutdown-timeout-ms <ms>',
    env: 'FTSHARE_SHUTDOWN_TIMEOUT_MS',
    default: '10000',
    help: 'on SIGTERM, how long in-flight requests may take to finish',
  },
  {
    key: 'headersTimeoutMs',
    flag: '--headers-timeout-ms <ms>',
    env: 'FTSHARE_HEADERS_TIMEOUT_MS',
    default: '10000',
    help: 'time to send the request line and headers; past it, 408 and disconnected',
  },
  {
    key: 'requestTimeoutMs',
    flag: '--request-timeout-ms <ms>',
    env: 'FTSHARE_REQUEST_TIMEOUT_MS',
    default: '30000',
    help: 'time to send the whole request, body included (at least the headers timeout)',
  },
  {
    key: 'keepAliveTimeoutMs',
    flag: '--keep-alive-timeout-ms <ms>',
    env: 'FTSHARE_KEEP_ALIVE_TIMEOUT_MS',
    default: '72000',
    help: 'how long an idle keep-alive connection stays open (longer than load balancers keep theirs)',
  },
  {
    key: 'maxConnections',
    flag: '--max-connections <n>',
    env: 'FTSHARE_MAX_CONNECTIONS',
    default: '4096',
    help: 'open connections per replica; further ones are closed at once (0 = no cap)',
  },
  {
    key: 'trustProxy',
    flag: '--trust-proxy <proxies>',
    env: 'FTSHARE_TRUST_PROXY',
    default: 'false',
    help: 'whose X-Forwarded-For names the client: false, true, a hop count, or proxy addresses/CIDRs (comma-separated)',
  },
  {
    key: 'authFailureLimit',
    flag: '--auth-failure-limit <n>',
    env: 'FTSHARE_AUTH_FAILURE_LIMIT',
    default: '100',
    help: 'failed authentications per address and window before a failing key gets 429 (0 = off)',
  },
  {
    key: 'authFailureWindowMs',
    flag: '--auth-failure-window-ms <ms>',
    env: 'FTSHARE_AUTH_FAILURE_WINDOW_MS',
    default: '10000',
    help: 'the window of --auth-failure-limit',
  },
  {
    key: 'keyRateLimit',
    flag: '--key-rate-limit <n>',
    env: 'FTSHARE_KEY_RATE_LIMIT',
    default: '0',
    help: 'requests per API key and window before the key gets 429 (0 = off)',
  },
  {
    key: 'keyRateWindowMs',
    flag: '--key-rate-window-ms <ms>',
    env: 'FTSHARE_KEY_RATE_WINDOW_MS',
    default: '1000',
    help: 'the window of --key-rate-limit',
  },
] as const;

const Enum = <T extends string[]>(values: [...T]) =>
  Type.Union(values.map((v) => Type.Literal(v))) as unknown as TUnsafe<T[number]>;

const ConfigSchema = Type.Object({
  host: Type.String({ minLength: 1 }),
  port: Type.Integer({ minimum: 0, maximum: 65535 }),
  db: Type.String({ minLength: 1 }),
  adminKey: Type.Optional(Type.String({ minLength: 1 })),
  baseModels: Type.Array(Type.String({ minLength: 1, maxLength: 256, pattern: '^[^\\s,]+$' }), { maxItems: 1000 }),
  adminKeyFile: Type.Optional(Type.String({ minLength: 1 })),
  logLevel: Enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
  pgPoolSize: Type.Integer({ minimum: 1, maximum: 1000 }),
  pgStatementTimeoutMs: Type.Integer({ minimum: 0 }),
  pgConnectTimeoutMs: Type.Integer({ minimum: 1 }),
  pgTls: Enum(['disable', 'require', 'verify-full']),
  shutdownTimeoutMs: Type.Integer({ minimum: 0 }),
  headersTimeoutMs: Type.Integer({ minimum: 1 }),
  requestTimeoutMs: Type.Integer({ minimum: 1 }),
  keepAliveTimeoutMs: Type.Integer({ minimum: 1 }),
  maxConnections: Type.Integer({ minimum: 0 }),
  trustProxy: Type.String({ minLength: 1 }),
  authFailureLimit: Type.Integer({ minimum: 0 }),
  authFailureWindowMs: Type.Integer({ minimum: 1 }),
  keyRateLimit: Type.Integer({ minimum: 0 }),
  keyRateWindowMs: Type.Integer({ minimum: 1 }),
});

export type Config = Readonly<Static<typeof ConfigSchema>>;

/** A comma-separated setting as a list: blanks around items and empty items dropped. */
function splitList(value: unknown): unknown {
  if (value === undefined) return [];
  if (typeof value !== 'string') return value;
  return value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item.length > 0);
}

/** Validates raw settings (strings from flags or env) into a frozen Config, or throws naming each bad one. */
export function parseConfig(raw: Record<string, unknown>): Config {
  const present = Object.fromEntries(Object.entries(raw).filter(([, value]) => value !== undefined && value !== ''));
  present.baseModels = splitList(present.baseModels);
  const converted = Value.Convert(ConfigSchema, present);
  if (!Value.Check(ConfigSchema, converted)) {
    const problems = [...Value.Errors(ConfigSchema, converted)].map((e) => {
      const setting = SETTINGS.find((s) => `/${s.key}` === e.path);
      return setting ? `${setting.flag.split(' ')[0]} / ${setting.env}: ${e.message}` : `${e.path}: ${e.message}`;
    });
    throw new Error(`invalid configuration:\n  ${problems.join('\n  ')}`);
  }
  // Node refuses a headers timeout longer than the whole request's.
  if (converted.headersTimeoutMs > converted.requestTimeoutMs) {
    throw new Error(
      'invalid configuration:\n  --request-timeout-ms / FTSHARE_REQUEST_TIMEOUT_MS: must be at least --headers-timeout-ms',
    );
  }
  return Object.freeze(converted);
}
