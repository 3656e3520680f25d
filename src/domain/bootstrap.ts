import { type Clock, newId } from '../ids.ts';
import type { ApiKey, Store } from '../storage/store.ts';
import { hashKey, isWellFormedAdminKey, mintKey, redactKey } from './keys.ts';

/** The organization a fresh server starts with; FTSHARE_ADMIN_KEY and the first-start key belong to it. */
export const DEFAULT_ORG_ID = 'org-default';

export type BootstrapOutcome =
  /** A key was minted because the store had no admin key: print it once, it is never shown again. */
  { kind: 'minted'; secret: string } | { kind: 'configured'; added: boolean } | { kind: 'existing' };

function adminKeyRecord(orgId: string, name: string, secret: string, now: number): ApiKey {
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
  };
}

async function ensureDefaultOrganization(store: Store, clock: Clock): Promise<void> {
  if (await store.getOrganization(DEFAULT_ORG_ID)) return;
  try {
    await store.createOrganization({ id: DEFAULT_ORG_ID, name: 'Default organization', createdAt: clock.nowSeconds() });
  } catch (error) {
    // Another replica starting at the same moment may have created it first.
    if (!(await store.getOrganization(DEFAULT_ORG_ID))) throw error;
  }
}

/** Makes sure someone can administer the server (CONTRACT §2 bootstrap). Idempotent. */
export async function bootstrapAdminKey(
  store: Store,
  clock: Clock,
  configuredKey: string | undefined,
): Promise<BootstrapOutcome> {
  await ensureDefaultOrganization(store, clock);
  if (configuredKey !== undefined) {
    if (!isWellFormedAdminKey(configuredKey)) {
      throw new Error('FTSHARE_ADMIN_KEY must look like sk-admin- followed by 20 to 200 letters, digits, _ or -.');
    }
    const key = adminKeyRecord(DEFAULT_ORG_ID, 'FTSHARE_ADMIN_KEY', configuredKey, clock.nowSeconds());
    return { kind: 'configured', added: await store.addApiKey(key) };
  }
  if ((await store.countActiveAdminKeys()) > 0) return { kind: 'existing' };
  const { secret } = mintKey('admin');
  await store.addApiKey(adminKeyRecord(DEFAULT_ORG_ID, 'Bootstrap admin key', secret, clock.nowSeconds()));
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
  );
  return { orgId, secret };
}
