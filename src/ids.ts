import { randomFillSync } from 'node:crypto';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/**
 * CSPRNG bytes drawn 4 KiB at a time: one `randomFillSync` per ~100 ids instead of one
 * `randomBytes` call per id, which dominated minting (and seeding a million rows). Every byte is
 * used once; the pool lives only in this process's memory, like any buffered CSPRNG output.
 */
const pool = Buffer.alloc(4096);
let poolOffset = pool.length;

/**
 * `length` characters drawn uniformly from base62. Bytes >= 248 are rejected rather than
 * folded with `% 62`, which would make the first eight characters likelier than the rest.
 */
export function randomBase62(length: number): string {
  let out = '';
  while (out.length < length) {
    if (poolOffset === pool.length) {
      randomFillSync(pool);
      poolOffset = 0;
    }
    const byte = pool[poolOffset++] as number;
    if (byte < 248) out += BASE62[byte % 62];
  }
  return out;
}

/** `bytes` random bytes as hex, from the same pool. */
export function randomHex(bytes: number): string {
  if (pool.length - poolOffset < bytes) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const hex = pool.toString('hex', poolOffset, poolOffset + bytes);
  poolOffset += bytes;
  return hex;
}

/**
 * `ms` as 8 base62 digits, most significant first (enough until the year 8900). Ids the store
 * indexes start with it, so a new id goes in at the end of its indexes (the unique index, the
 * audit log's resource index) instead of at a random page: on a busy store, page writes saved on
 * every insert. The rest of each id stays random (16 base62 characters or more).
 */
function sortableBase62(ms: number): string {
  let out = '';
  let rest = Math.floor(ms);
  for (let i = 0; i < 8; i++) {
    out = BASE62[rest % 62] + out;
    rest = Math.floor(rest / 62);
  }
  return out;
}

/** The time now, sortable, then `random` random base62 characters. */
const sortable = (random: number) => `${sortableBase62(Date.now())}${randomBase62(random)}`;

/** Every id prefix ftshare mints; OpenAI's where OpenAI has one. */
export const newId = {
  organization: () => `org-${randomBase62(24)}`,
  project: () => `proj_${sortable(16)}`,
  permission: () => `cp_${sortable(16)}`,
  apiKey: () => `key_${sortable(8)}`,
  serviceAccount: () => `svc_acct_${sortable(16)}`,
  auditEvent: () => `audit_log-${sortable(16)}`,
  /** The `x-request-id` of every response. */
  request: () => `req_${randomHex(12)}`,
} as const;

/** The application's clock, injected so tests can pin time; it yields Unix seconds as the wire wants. */
export type Clock = { nowSeconds(): number };

export const systemClock: Clock = { nowSeconds: () => Math.floor(Date.now() / 1000) };
