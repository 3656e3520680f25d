import { ApiError } from '../errors.ts';
import type { Store } from '../storage/store.ts';
import { hashKey, redactKey } from './keys.ts';

/** Who is calling: resolved from the bearer key once per request. */
export type Caller = {
  orgId: string;
  keyId: string;
  kind: 'admin' | 'project';
  projectId: string | null;
};

/** Longer than any key we mint or accept; a bigger header is not a key and is not worth hashing. */
const MAX_KEY_LENGTH = 512;

const missingKey = () =>
  new ApiError(
    401,
    'invalid_request_error',
    "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
    null,
    'missing_api_key',
  );

const incorrectKey = (key: string) =>
  new ApiError(
    401,
    'invalid_request_error',
    `Incorrect API key provided: ${redactKey(key)}. Ask your ftshare administrator for a valid key.`,
    null,
    'invalid_api_key',
  );

/** The caller behind an `Authorization` header, or the 401 that OpenAI would answer. */
export async function authenticate(store: Store, authorization: string | undefined): Promise<Caller> {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  const key = match?.[1];
  if (!key) throw missingKey();
  if (key.length > MAX_KEY_LENGTH) throw incorrectKey(key);
  const found = await store.findApiKeyByHash(hashKey(key));
  // Unknown and revoked keys answer alike: a revoked key's holder learns nothing more.
  if (!found || found.revokedAt !== null) throw incorrectKey(key);
  return { orgId: found.orgId, keyId: found.id, kind: found.kind, projectId: found.projectId };
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
