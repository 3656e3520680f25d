import { hash } from 'node:crypto';
import { randomBase62 } from '../ids.ts';

export type KeyKind = 'admin' | 'project';

/** A minted secret: shown to its owner once, stored only as `hash`. */
export type MintedKey = { secret: string; hash: string; redacted: string };

const PREFIX: Record<KeyKind, string> = { admin: 'sk-admin-', project: 'sk-proj-' };

/**
 * SHA-256, unsalted. Minted secrets are 48 random base62 characters (~285 bits) and operator-chosen
 * ones must have at least 32 characters, so a slow, salted password hash buys nothing against
 * guessing, while a deterministic hash lets every request find its key with one indexed lookup.
 */
export function hashKey(secret: string): string {
  // crypto.hash (Node ≥ 20.12), one call: half the cost of createHash().update().digest() on the
  // path of every request.
  return hash('sha256', secret, 'hex');
}

/** At most the first 6 and last 4 characters, as CONTRACT §2 allows in messages and listings. */
export function redactKey(secret: string): string {
  if (secret.length < 14) return '****';
  return `${secret.slice(0, 6)}****${secret.slice(-4)}`;
}

export function mintKey(kind: KeyKind): MintedKey {
  const secret = `${PREFIX[kind]}${randomBase62(48)}`;
  return { secret, hash: hashKey(secret), redacted: redactKey(secret) };
}

/**
 * Accepts what an operator may set as FTSHARE_ADMIN_KEY: an `sk-admin-` prefix, then 32 to 200
 * letters, digits, `_` or `-`. 32 random base62 characters carry about 190 bits: enough that an
 * unsalted SHA-256 at rest cannot be reversed by guessing, which is what makes it sound here.
 */
export const OPERATOR_KEY_PATTERN = /^sk-admin-[A-Za-z0-9_-]{32,200}$/;

export function isWellFormedAdminKey(secret: string): boolean {
  return OPERATOR_KEY_PATTERN.test(secret);
}
