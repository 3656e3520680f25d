import { badRequest, notFound } from '../errors.ts';
import type { Clock } from '../ids.ts';
import type { ApiKey, KeyQuery, Page, Store } from '../storage/store.ts';
import { type Caller, writeMeta } from './auth.ts';
import { adminKeyRecord } from './bootstrap.ts';
import { mintKey } from './keys.ts';

/** An organization's admin API keys: created (the secret shown once), listed, deleted. */

const keyNotFound = (id: string) => notFound(`No admin API key found with id \`${id}\`.`);

export async function createAdminKey(
  store: Store,
  clock: Clock,
  caller: Caller,
  input: { name: string; expiresInSeconds: number | null },
): Promise<{ key: ApiKey; secret: string }> {
  const meta = writeMeta(caller, clock);
  const { secret } = mintKey('admin');
  const key: ApiKey = {
    ...adminKeyRecord(caller.orgId, input.name, secret, meta.now),
    expiresAt: input.expiresInSeconds === null ? null : meta.now + input.expiresInSeconds,
  };
  await store.addApiKey(key, meta);
  return { key, secret };
}

export async function listAdminKeys(store: Store, orgId: string, query: KeyQuery): Promise<Page<ApiKey>> {
  const page = await store.listAdminKeys(orgId, query);
  if (page === 'unknown_cursor') {
    throw badRequest(`\`after\` must be an admin API key of this organization; \`${query.after}\` is not.`, 'after');
  }
  return page;
}

export async function getAdminKey(store: Store, orgId: string, id: string): Promise<ApiKey> {
  const key = await store.getAdminKey(orgId, id);
  if (!key) throw keyNotFound(id);
  return key;
}

/** Refused when it would leave the organization with no working admin key: nobody locks themselves out. */
export async function deleteAdminKey(store: Store, clock: Clock, caller: Caller, id: string): Promise<void> {
  const outcome = await store.deleteAdminKey(caller.orgId, id, writeMeta(caller, clock));
  if (outcome === 'not_found') throw keyNotFound(id);
  if (outcome === 'last_active_key') {
    throw badRequest(
      `Admin API key \`${id}\` is the organization's last active admin key; create another before deleting it.`,
      'key_id',
      'last_active_admin_key',
    );
  }
}
