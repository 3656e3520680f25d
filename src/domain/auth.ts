import { ApiError } from '../errors.ts';
import type { Clock } from '../ids.ts';
import type { Actor, KeyRecord, WriteMeta } from '../storage/store.ts';
import { redactKey } from './keys.ts';

/** Who is calling: resolved from the bearer key once per request (src/domain/access-service.ts). */
export type Caller = {
  orgId: string;
  keyId: string;
  kind: 'admin' | 'project';
  projectId: string | null;
  serviceAccountId: string | null;
  /**
   * The organization's access version, read after this request arrived (src/domain/freshness.ts):
   * whatever this request reads from caches must have been computed at this version.
   */
  version: number;
};

/** Longer than any key we mint or accept; a bigger header is not a key and is not worth hashing. */
export const MAX_KEY_LENGTH = 512;

export const missingKey = () =>
  new ApiError(
    401,
    'invalid_request_error',
    "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
    null,
    'missing_api_key',
  );

export const incorrectKey = (key: string) =>
  new ApiError(
    401,
    'invalid_request_error',
    `Incorrect API key provided: ${redactKey(key)}. Ask your ftshare administrator for a valid key.`,
    null,
    'invalid_api_key',
  );

/** The key of an `Authorization: Bearer <key>` header, or undefined when there is none. */
export function bearerKey(authorization: string | undefined): string | undefined {
  return /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '')?.[1];
}

/**
 * Whether a stored key works at `now`: not deleted (a deleted service account's keys are deleted
 * with it), not expired, and not the key of an archived project. All refusals answer alike.
 */
export function keyWorks(key: KeyRecord, now: number): boolean {
  if (key.revokedAt !== null) return false;
  if (key.expiresAt !== null && key.expiresAt <= now) return false;
  return !(key.kind === 'project' && key.projectArchived);
}

export function requireAdmin(caller: Caller): void {
  if (caller.kind !== 'admin') {
    throw new ApiError(
      403,
      'invalid_request_error',
      'You have insufficient permissions for this operation: it requires an admin API key (sk-admin-...), and this is a project key.',
      null,
      'insufficient_permissions',
    );
  }
}

/**
 * The user an organization's admin keys belong to. ftshare has no users: an organization's admin
 * keys all act for its owner, named after the organization (`org-abc` → `user-abc`).
 */
export const ownerUserId = (orgId: string) => `user-${orgId.replace(/^org-/, '')}`;

/** The audit log's name for the caller: its key, and the principal behind it. */
export function actorOf(caller: Caller): Actor {
  return caller.kind === 'admin' || caller.serviceAccountId === null
    ? { keyId: caller.keyId, type: 'user', principalId: ownerUserId(caller.orgId) }
    : { keyId: caller.keyId, type: 'service_account', principalId: caller.serviceAccountId };
}

/** Who writes, and when: what every store write carries into its audit events. */
export const writeMeta = (caller: Caller, clock: Clock): WriteMeta => ({
  actor: actorOf(caller),
  now: clock.nowSeconds(),
});
