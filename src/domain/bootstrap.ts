import { type Clock, newId } from '../ids.ts';
import type { ApiKey, Store, WriteMeta } from '../storage/store.ts';
import { hashKey, isWellFormedAdminKey, mintKey, redactKey } from './keys.ts';

/** The organization a fresh server starts with; FTSHARE_ADMIN_KEY and the first-start key belong to it. */
export const DEFAULT_ORG_ID = 'org-default';

/** The name FTSHARE_ADMIN_KEY's key carries: a new value deletes the keys of that name it replaces. */
export const CONFIGURED_KEY_NAME = 'FTSHARE_ADMIN_KEY';

export type BootstrapOutcome =
  /** A key was minted because the store had no admin key: print it once, it is never shown again. */
  | { kind: 'minted'; secret: string }
  /** FTSHARE_ADMIN_KEY was added (`added`, deleting its earlier values) or was there already. */
  | { kind: 'configured'; added: boolean }
  | { kind: 'existing' };

export function adminKeyRecord(orgId: string, name: string, secret: string, now: number): ApiKey {
  return {
    id: newId.apiKey(),
    orgId,
    projectId: null,
    kind: 'admin',
    name,
    hash: hashKey(secret),
    redacted: redactKey(secret),
    createdAt: now,
    revokedAt: null,
    serviceAccountId: null,
    expiresAt: null,
    lastUsedAt: null,
  };
}

/** Changes made at start-up or by `org create` are made by no API key: their audit actor is null. */
const systemMeta = (clock: Clock): WriteMeta => ({ actor: null, now: clock.nowSeconds() });

async function ensureDefaultOrganization(store: Store, clock: Clock): Promise<void> {
  if (await store.getOrganization(DEFAULT_ORG_ID)) return;
  try {
    await store.createOrganization(
      { id: DEFAULT_ORG_ID, name: 'Default organization', createdAt: clock.nowSeconds() },
      null,
      systemMeta(clock),
    );
  } catch (error) {
    // Another replica starting at the same moment may have created it first.
    if (!(await store.getOrganization(DEFAULT_ORG_ID))) throw error;
  }
}

/**
 * Makes sure someone can administer the server (CONTRACT §2 bootstrap). Idempotent.
 *
 * FTSHARE_ADMIN_KEY: its key is added on the first start with that value, and every earlier value
 * (an active key of that name) is deleted in the same transaction: an operator rotating a leaked
 * key only changes the setting and restarts. A value whose key was deleted through the API is
 * refused rather than quietly brought back.
 */
export async function bootstrapAdminKey(
  store: Store,
  clock: Clock,
  configuredKey: string | undefined,
): Promise<BootstrapOutcome> {
  await ensureDefaultOrganization(store, clock);
  if (configuredKey !== undefined) {
    if (!isWellFormedAdminKey(configuredKey)) {
      throw new Error(
        'FTSHARE_ADMIN_KEY must be sk-admin- followed by 32 to 200 letters, digits, _ or - (e.g. sk-admin-$(openssl rand -hex 24)): ' +
          'keys are stored as an unsalted SHA-256, which is sound only for keys too long to guess.',
      );
    }
    const existing = await store.findApiKeyByHash(hashKey(configuredKey));
    if (existing) {
      if (existing.revokedAt !== null || existing.orgId !== DEFAULT_ORG_ID || existing.kind !== 'admin') {
        throw new Error(
          'FTSHARE_ADMIN_KEY names a key that was deleted (or is not an admin key of the default organization): choose a new value.',
        );
      }
      return { kind: 'configured', added: false };
    }
    const key = adminKeyRecord(DEFAULT_ORG_ID, CONFIGURED_KEY_NAME, configuredKey, clock.nowSeconds());
    return { kind: 'configured', added: await store.addApiKey(key, systemMeta(clock), CONFIGURED_KEY_NAME) };
  }
  if ((await store.countActiveAdminKeys(clock.nowSeconds())) > 0) return { kind: 'existing' };
  const { secret } = mintKey('admin');
  await store.addApiKey(
    adminKeyRecord(DEFAULT_ORG_ID, 'Bootstrap admin key', secret, clock.nowSeconds()),
    systemMeta(clock),
  );
  return { kind: 'minted', secret };
}

/** A new organization with its first admin key, in one transaction (the CLI's `org create`). */
export async function createOrganization(
  store: Store,
  clock: Clock,
  name: string,
): Promise<{ orgId: string; secret: string }> {
  const orgId = newId.organization();
  const now = clock.nowSeconds();
  const { secret } = mintKey('admin');
  await store.createOrganization(
    { id: orgId, name, createdAt: now },
    adminKeyRecord(orgId, 'Initial admin key', secret, now),
    systemMeta(clock),
  );
  return { orgId, secret };
}
