import { type Static, Type } from '@sinclair/typebox';
import { AUDIT_EVENT_TYPES } from '../storage/store.ts';
import { IdString, LIMITS, Nullable, StringEnum } from './schemas.ts';

/**
 * The state document: an organization's whole state, records exactly as stored (ids, timestamps,
 * key hashes). Export writes it, import reads it (or any part of it), and the emulator's seed files
 * and `/__ftshare/state` use it too (several organizations, keys given by their secret if wished).
 */

const Seconds = Type.Integer({ minimum: 0, maximum: 2 ** 53 - 1 });
const Name = Type.String({ minLength: 1, maxLength: LIMITS.name });
const Checkpoint = Type.String({ minLength: 1, maxLength: LIMITS.checkpointName, pattern: '^[^\\s/?#%]+$' });
const Many = <T extends Parameters<typeof Type.Array>[0]>(item: T) =>
  Type.Optional(Type.Array(item, { maxItems: 100_000 }));

export const StateProject = Type.Object(
  {
    id: IdString('Project id.'),
    name: Name,
    external_key_id: Nullable(Type.String({ maxLength: LIMITS.id })),
    created_at: Seconds,
    archived_at: Nullable(Seconds),
  },
  { additionalProperties: false },
);

export const StateServiceAccount = Type.Object(
  {
    id: IdString('Service account id.'),
    project_id: IdString('Its project.'),
    name: Name,
    role: StringEnum(['owner', 'member', 'none']),
    created_at: Seconds,
    deleted_at: Nullable(Seconds),
  },
  { additionalProperties: false },
);

export const StateApiKey = Type.Object(
  {
    id: IdString('Key id.'),
    kind: StringEnum(['admin', 'project']),
    project_id: Nullable(IdString('Its project (project keys).')),
    service_account_id: Nullable(IdString('Its service account (project keys).')),
    name: Name,
    /** SHA-256 of the secret, as stored; or, in seeds, the secret itself (`secret`). */
    hash: Type.Optional(Type.String({ pattern: '^[0-9a-f]{64}$' })),
    secret: Type.Optional(Type.String({ minLength: 1, maxLength: 512 })),
    redacted_value: Type.Optional(Type.String({ maxLength: 64 })),
    created_at: Seconds,
    expires_at: Nullable(Seconds),
    last_used_at: Nullable(Seconds),
    revoked_at: Nullable(Seconds),
  },
  { additionalProperties: false },
);

export const StateCheckpoint = Type.Object(
  { name: Checkpoint, project_id: IdString('Its owner.'), created_at: Seconds },
  { additionalProperties: false },
);

export const StatePermission = Type.Object(
  { id: IdString('Permission id.'), checkpoint: Checkpoint, project_id: IdString('Grantee.'), created_at: Seconds },
  { additionalProperties: false },
);

export const StateModelPermissions = Type.Object(
  {
    project_id: IdString('Its project.'),
    mode: StringEnum(['allow_list', 'deny_list']),
    model_ids: Type.Array(Type.String({ minLength: 1, maxLength: LIMITS.checkpointName }), { maxItems: 1_000 }),
    updated_at: Seconds,
  },
  { additionalProperties: false },
);

export const StateAuditEvent = Type.Object(
  {
    id: IdString('Event id.'),
    type: StringEnum([...AUDIT_EVENT_TYPES]),
    effective_at: Seconds,
    project_id: Nullable(IdString('The project it concerns.')),
    resource_id: Type.String({ minLength: 1, maxLength: LIMITS.checkpointName }),
    actor: Nullable(
      Type.Object(
        {
          key_id: IdString('The key that made the change.'),
          type: StringEnum(['user', 'service_account']),
          principal_id: IdString('Who the key acts for.'),
        },
        { additionalProperties: false },
      ),
    ),
    payload: Type.Record(Type.String(), Type.Unknown()),
  },
  { additionalProperties: false },
);

export const StateOrganization = Type.Object(
  { id: IdString('Organization id.'), name: Name, created_at: Seconds },
  { additionalProperties: false },
);

/** One organization's records (every array optional: import takes any part). */
const OrganizationRecords = {
  projects: Many(StateProject),
  service_accounts: Many(StateServiceAccount),
  api_keys: Many(StateApiKey),
  checkpoints: Many(StateCheckpoint),
  permissions: Many(StatePermission),
  model_permissions: Many(StateModelPermissions),
  audit_events: Many(StateAuditEvent),
};

/** What export writes and import reads: one organization. */
export const StateDocument = Type.Object(
  {
    ftshare_state: Type.Optional(Type.Literal(1)),
    organization: Type.Optional(StateOrganization),
    ...OrganizationRecords,
  },
  { additionalProperties: false, $id: 'StateDocument' },
);

/** The emulator's seed and `/__ftshare/state`: every organization. */
export const SeedDocument = Type.Object(
  {
    ftshare_state: Type.Optional(Type.Literal(1)),
    organizations: Type.Array(
      Type.Object({ organization: StateOrganization, ...OrganizationRecords }, { additionalProperties: false }),
      {
        maxItems: 1_000,
      },
    ),
  },
  { additionalProperties: false },
);

export type StateDocumentWire = Static<typeof StateDocument>;
export type SeedDocumentWire = Static<typeof SeedDocument>;

const Counts = Type.Object({
  projects: Type.Integer(),
  service_accounts: Type.Integer(),
  api_keys: Type.Integer(),
  checkpoints: Type.Integer(),
  permissions: Type.Integer(),
  model_permissions: Type.Integer(),
  audit_events: Type.Integer(),
});

export const ImportResponse = Type.Object({
  object: Type.Literal('organization.import'),
  inserted: Counts,
  skipped: Counts,
});
