import { readFile } from 'node:fs/promises';
import { Ajv } from 'ajv';
import { parse as parseYaml } from 'yaml';
import { adminKeyRecord, DEFAULT_ORG_ID } from '../domain/bootstrap.ts';
import { mintKey } from '../domain/keys.ts';
import { SeedDocument, type SeedDocumentWire } from '../http/schemas-state.ts';
import { stateFromWire } from '../http/wire-state.ts';
import type { Clock } from '../ids.ts';
import type { Store, WriteMeta } from '../storage/store.ts';

/** The admin key every unknown bearer acts as: a real key (never shown), so the audit log can name it. */
export const EMULATOR_KEY_ID = 'key_emulator';

export type EmulatorWorld = {
  /** Who an unknown bearer is. */
  bearer: { orgId: string; keyId: string };
  seed: SeedDocumentWire | null;
};

const system = (clock: Clock): WriteMeta => ({ actor: null, now: clock.nowSeconds() });

/**
 * What a hand-written seed may leave out: these fields default to null (a service account's role
 * to `member`). A state dump has them all, so it loads unchanged.
 */
const SEED_DEFAULTS: Record<string, Record<string, unknown>> = {
  projects: { external_key_id: null, archived_at: null },
  service_accounts: { role: 'member', deleted_at: null },
  api_keys: { project_id: null, service_account_id: null, expires_at: null, last_used_at: null, revoked_at: null },
};

function withSeedDefaults(document: unknown): unknown {
  const organizations = (document as { organizations?: unknown } | null)?.organizations;
  if (!Array.isArray(organizations)) return document;
  for (const org of organizations) {
    for (const [kind, defaults] of Object.entries(SEED_DEFAULTS)) {
      const records = (org as Record<string, unknown> | null)?.[kind];
      if (!Array.isArray(records)) continue;
      for (const record of records) {
        if (record === null || typeof record !== 'object') continue;
        for (const [field, value] of Object.entries(defaults)) if (!(field in record)) record[field] = value;
      }
    }
  }
  return document;
}

/**
 * Reads a seed file: JSON or YAML (by content, not name), in the state-document format with
 * several organizations (`SEED_DEFAULTS` may be left out). Throws a message naming the first problem.
 */
export async function readSeedFile(path: string): Promise<SeedDocumentWire> {
  const text = await readFile(path, 'utf8');
  let parsed: unknown;
  try {
    parsed = /^\s*[{[]/.test(text) ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw new Error(`seed file ${path} is neither JSON nor YAML: ${(error as Error).message}`);
  }
  // Ajv, as for request bodies: TypeBox's own Value.Check cannot check the schemas' plain enums.
  const check = new Ajv({ allErrors: false }).compile<SeedDocumentWire>(SeedDocument);
  parsed = withSeedDefaults(parsed);
  if (!check(parsed)) {
    const first = check.errors?.[0];
    throw new Error(`seed file ${path}: ${first?.instancePath || '/'} ${first?.message ?? 'is not a seed document'}`);
  }
  return parsed;
}

/**
 * Builds the emulator's starting state in an empty store: each seeded organization with its
 * records (ids and timestamps as given), then the default organization if the seed has none.
 * A store that already holds state (a `--db` file from an earlier run) is kept as it is — the
 * seed is not loaded over it again (it would bring back what was deleted since) — and only gets
 * what the emulator needs: the default organization and the key any unknown bearer acts as.
 */
export async function loadWorld(store: Store, clock: Clock, seed: SeedDocumentWire | null): Promise<void> {
  const empty = (await store.listOrganizations()).length === 0;
  const orgs = empty ? (seed?.organizations ?? []) : [];
  for (const { organization } of orgs) {
    await store.createOrganization(
      { id: organization.id, name: organization.name, createdAt: organization.created_at },
      null,
      system(clock),
    );
  }
  if (!(await store.getOrganization(DEFAULT_ORG_ID))) {
    await store.createOrganization(
      { id: DEFAULT_ORG_ID, name: 'Default organization', createdAt: clock.nowSeconds() },
      null,
      system(clock),
    );
  }
  for (const { organization, ...records } of orgs) {
    const decoded = stateFromWire(records, organization.id);
    if ('problem' in decoded) throw new Error(`seed: ${decoded.problem}`);
    const outcome = await store.importState(organization.id, decoded.state, system(clock));
    if (outcome.kind === 'conflict') throw new Error(`seed: ${outcome.message}`);
  }
  if (!(await store.getAdminKey(DEFAULT_ORG_ID, EMULATOR_KEY_ID))) {
    const { secret } = mintKey('admin');
    await store.addApiKey(
      {
        ...adminKeyRecord(DEFAULT_ORG_ID, 'Emulator: any unknown bearer', secret, clock.nowSeconds()),
        id: EMULATOR_KEY_ID,
      },
      system(clock),
    );
  }
}

export async function resetWorld(store: Store, clock: Clock, seed: SeedDocumentWire | null): Promise<void> {
  await store.eraseEverything();
  await loadWorld(store, clock, seed);
}
