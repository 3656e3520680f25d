/**
 * The store, in domain words. Routes and rules see only this interface; SQL lives in the adapters
 * (`sql-store.ts` and `sql/` over a Kysely dialect from `sqlite.ts` or `postgres.ts`). Every method
 * that writes runs in one transaction, together with the audit events describing the change, so an
 * acknowledged write is whole or absent, and never without its events.
 */

export type Organization = { id: string; name: string; createdAt: number };

export type Project = {
  id: string;
  orgId: string;
  name: string;
  externalKeyId: string | null;
  createdAt: number;
  archivedAt: number | null;
};

export type ApiKey = {
  id: string;
  orgId: string;
  /** null for an admin key; the project a project (service-account) key belongs to. */
  projectId: string | null;
  kind: 'admin' | 'project';
  name: string;
  hash: string;
  redacted: string;
  createdAt: number;
  /** When the key was deleted (or rotated out); a deleted key's row stays, so its hash stays taken. */
  revokedAt: number | null;
  /** The service account a project key belongs to. */
  serviceAccountId: string | null;
  /** Admin keys only: when it stops working (`expires_in_seconds`). */
  expiresAt: number | null;
  /** Updated in batches (at most a minute late), never a write per request. */
  lastUsedAt: number | null;
};

export type ServiceAccountRole = 'owner' | 'member' | 'none';

export type ServiceAccount = {
  id: string;
  orgId: string;
  projectId: string;
  name: string;
  createdAt: number;
  role: ServiceAccountRole;
};

export type Checkpoint = { orgId: string; name: string; projectId: string; createdAt: number };

export type Permission = {
  id: string;
  orgId: string;
  checkpoint: string;
  projectId: string;
  createdAt: number;
};

/** A project's model permissions (OpenAI's allow/deny list). None set means nothing is blocked. */
export type ModelRule = { mode: 'allow_list' | 'deny_list'; modelIds: string[] };

/**
 * Who made a change, as the audit log names them: the API key, and the principal behind it (the
 * organization's owner for an admin key, as OpenAI's admin keys belong to users).
 */
export type Actor = { keyId: string; type: 'user' | 'service_account'; principalId: string };

/** Every write carries who makes it (null: start-up or the `org create` command) and when. */
export type WriteMeta = { actor: Actor | null; now: number };

/** Every type of audit event ftshare writes (closed: the audit log's scans rely on it). */
export const AUDIT_EVENT_TYPES = [
  'checkpoint.permission.created',
  'checkpoint.permission.deleted',
  'project.created',
  'project.updated',
  'project.archived',
  'service_account.created',
  'service_account.updated',
  'service_account.deleted',
  'api_key.created',
  'api_key.updated',
  'api_key.deleted',
  'model_permissions.updated',
  'model_permissions.deleted',
  'checkpoint.registered',
  'checkpoint.deleted',
  'organization.imported',
] as const;

export type AuditEventType = (typeof AUDIT_EVENT_TYPES)[number];

/** One audit event as written: `resourceId` is the changed object's id, `project` the project it concerns. */
export type AuditEventInput = {
  type: AuditEventType;
  projectId: string | null;
  resourceId: string;
  payload: Record<string, unknown>;
};

export type AuditEvent = AuditEventInput & {
  id: string;
  orgId: string;
  effectiveAt: number;
  actor: Actor | null;
  /** The project's current name, when the event concerns a project that exists. */
  projectName: string | null;
};

export type Page<T> = { items: T[]; hasMore: boolean };

export type PermissionQuery = {
  projectId?: string;
  /** A permission id; the page starts after it in `order`. */
  after?: string;
  limit: number;
  order: 'ascending' | 'descending';
};

export type ProjectQuery = { after?: string; limit: number; includeArchived: boolean };

export type CheckpointQuery = { projectId?: string; after?: string; limit: number };

export type KeyQuery = { after?: string; limit: number; order: 'asc' | 'desc' };

export type ServiceAccountQuery = { after?: string; limit: number };

export type AuditQuery = {
  limit: number;
  /** An event id: the page holds older events. */
  after?: string;
  /** An event id: the page holds newer events (still listed newest first). */
  before?: string;
  types?: string[];
  projectIds?: string[];
  actorIds?: string[];
  resourceIds?: string[];
  effectiveAt?: { gt?: number; gte?: number; lt?: number; lte?: number };
};

/** What a grant found wrong before writing anything. */
export type GrantRefusal =
  | { kind: 'checkpoint_not_found' }
  | { kind: 'project_not_found'; projectId: string }
  | { kind: 'project_archived'; projectId: string };

export type GrantRequest = {
  orgId: string;
  checkpoint: string;
  /** Distinct, in request order. */
  projectIds: string[];
  /** Mints the id of each new permission; existing permissions keep theirs. */
  newPermissionId: () => string;
  /**
   * The creation time of new permissions, read once the checkpoint is locked: grants of one
   * checkpoint take turns, so their `created_at` never goes backwards in creation order.
   */
  now: () => number;
  actor: Actor | null;
};

export type RegisterResult =
  | { kind: 'registered'; checkpoint: Checkpoint }
  | { kind: 'owned_by_other_project'; checkpoint: Checkpoint }
  | { kind: 'project_not_found' }
  | { kind: 'project_archived' };

/** What an API key authenticates as, with what its validity depends on besides itself. */
export type KeyRecord = ApiKey & { projectArchived: boolean };

/** Everything a project's access to models depends on, read in one go (src/domain/access.ts decides). */
export type ProjectAccessData = {
  archived: boolean;
  /** Checkpoints it owns, and those shared with it, in registration order. */
  owned: Checkpoint[];
  shared: Checkpoint[];
  rule: ModelRule | null;
};

export type ServiceAccountOutcome<T> = T | 'project_not_found' | 'project_archived' | 'not_found';

export interface Store {
  readonly kind: 'sqlite' | 'postgres';
  /**
   * `local`: this process is the store's only writer (SQLite), so it learns of every change as it
   * makes it. `shared`: other replicas write too; `accessVersions` tells what they committed.
   */
  readonly writers: 'local' | 'shared';
  /** True when `error` means the store cannot be reached (answer 503), not that a query was wrong. */
  isUnavailableError(error: unknown): boolean;

  /** Apply pending migrations; safe when many processes call it at once. */
  migrate(): Promise<void>;
  /** Throws when the store cannot answer a trivial query. */
  ping(): Promise<void>;
  close(): Promise<void>;
  /** Called after each committed write that changed something, with its organization. */
  onChange(listener: (orgId: string) => void): void;
  /** How many changing writes each organization has committed (0 for none): compared, never interpreted. */
  accessVersions(orgIds: readonly string[]): Promise<Map<string, number>>;

  // Organizations and keys
  /** The organization and, when given, its first admin key, in one transaction. */
  createOrganization(org: Organization, firstAdminKey: ApiKey | null, meta: WriteMeta): Promise<void>;
  getOrganization(id: string): Promise<Organization | undefined>;
  /** Every organization, oldest first (the emulator's state dump; operators' tooling). */
  listOrganizations(): Promise<Organization[]>;
  /**
   * Inserts the key unless a key with the same hash exists (true when it inserted). Other active
   * keys of the organization named `replacing` are deleted with it: rotating FTSHARE_ADMIN_KEY.
   */
  addApiKey(key: ApiKey, meta: WriteMeta, replacing?: string): Promise<boolean>;
  /** Any key with this hash, deleted ones included (the caller decides what counts as valid). */
  findApiKeyByHash(hash: string): Promise<KeyRecord | undefined>;
  /** Active (not deleted, not expired at `now`) admin keys across every organization. */
  countActiveAdminKeys(now: number): Promise<number>;
  /** Records when keys were last used; no audit event, no change to anyone's access. */
  touchApiKeys(lastUsed: ReadonlyMap<string, number>): Promise<void>;

  // Admin keys
  listAdminKeys(orgId: string, query: KeyQuery): Promise<Page<ApiKey> | 'unknown_cursor'>;
  getAdminKey(orgId: string, id: string): Promise<ApiKey | undefined>;
  /** Refused when it would leave the organization without an active admin key. */
  deleteAdminKey(orgId: string, id: string, meta: WriteMeta): Promise<'deleted' | 'not_found' | 'last_active_key'>;

  // Projects
  createProject(project: Project, meta: WriteMeta): Promise<void>;
  getProject(orgId: string, id: string): Promise<Project | undefined>;
  listProjects(orgId: string, query: ProjectQuery): Promise<Page<Project> | 'unknown_cursor'>;
  updateProject(
    orgId: string,
    id: string,
    patch: { name?: string; externalKeyId?: string | null },
    meta: WriteMeta,
  ): Promise<Project | undefined>;
  /** Idempotent: archiving an archived project keeps its first `archivedAt`. */
  archiveProject(orgId: string, id: string, meta: WriteMeta): Promise<Project | undefined>;

  // Service accounts and project keys
  /** Inserts the account and its key (if any) together, or neither. */
  createServiceAccount(
    account: ServiceAccount,
    key: ApiKey | null,
    meta: WriteMeta,
  ): Promise<ServiceAccountOutcome<'created'>>;
  listServiceAccounts(
    orgId: string,
    projectId: string,
    query: ServiceAccountQuery,
  ): Promise<Page<ServiceAccount> | 'unknown_cursor' | 'project_not_found'>;
  getServiceAccount(orgId: string, projectId: string, id: string): Promise<ServiceAccount | undefined>;
  updateServiceAccount(
    orgId: string,
    projectId: string,
    id: string,
    patch: { name?: string; role?: ServiceAccountRole },
    meta: WriteMeta,
  ): Promise<ServiceAccountOutcome<ServiceAccount>>;
  /** Deletes the account and every key of it, in one transaction. */
  deleteServiceAccount(
    orgId: string,
    projectId: string,
    id: string,
    meta: WriteMeta,
  ): Promise<ServiceAccountOutcome<'deleted'>>;
  addServiceAccountKey(
    key: ApiKey & { serviceAccountId: string; projectId: string },
    scopes: readonly string[],
    meta: WriteMeta,
  ): Promise<ServiceAccountOutcome<'created'>>;
  listProjectKeys(
    orgId: string,
    projectId: string,
    query: ServiceAccountQuery,
  ): Promise<Page<ApiKey & { owner: ServiceAccount | null }> | 'unknown_cursor' | 'project_not_found'>;
  getProjectKey(
    orgId: string,
    projectId: string,
    id: string,
  ): Promise<(ApiKey & { owner: ServiceAccount | null }) | undefined>;
  /** A new expiry (null: none) and/or requested scopes (recorded in the audit event, not enforced). */
  updateProjectKey(
    orgId: string,
    projectId: string,
    id: string,
    patch: { expiresAt?: number | null; scopes?: readonly string[] },
    meta: WriteMeta,
  ): Promise<(ApiKey & { owner: ServiceAccount | null }) | undefined>;
  deleteProjectKey(orgId: string, projectId: string, id: string, meta: WriteMeta): Promise<boolean>;

  // Model permissions
  getModelRule(orgId: string, projectId: string): Promise<ModelRule | null | 'project_not_found'>;
  /** Replaces the project's whole rule. */
  setModelRule(orgId: string, projectId: string, rule: ModelRule, meta: WriteMeta): Promise<boolean>;
  /** false when the project does not exist; deleting no rule is not an error. */
  deleteModelRule(orgId: string, projectId: string, meta: WriteMeta): Promise<boolean>;

  // Checkpoints (the registry permissions attach to)
  registerCheckpoint(checkpoint: Checkpoint, meta: WriteMeta): Promise<RegisterResult>;
  getCheckpoint(orgId: string, name: string): Promise<Checkpoint | undefined>;
  /** Which of `names` are registered checkpoints of the organization. */
  existingCheckpoints(orgId: string, names: readonly string[]): Promise<Set<string>>;
  listCheckpoints(orgId: string, query: CheckpointQuery): Promise<Page<Checkpoint> | 'unknown_cursor'>;
  /** Every checkpoint of the organization, in registration order. */
  allCheckpoints(orgId: string): Promise<Checkpoint[]>;
  /** Removes the checkpoint and all its permissions in one transaction; false when absent. */
  deleteCheckpoint(orgId: string, name: string, meta: WriteMeta): Promise<boolean>;

  // Permissions
  /**
   * All or nothing: every project must be an active project of the org and the checkpoint must
   * exist, else nothing is written. Returns one permission per requested project, in request
   * order, existing ones unchanged.
   */
  grantPermissions(request: GrantRequest): Promise<Permission[] | GrantRefusal>;
  listPermissions(
    orgId: string,
    checkpoint: string,
    query: PermissionQuery,
  ): Promise<Page<Permission> | 'unknown_cursor'>;
  /** The removed permission, or undefined when it is absent or belongs to another checkpoint. */
  revokePermission(
    orgId: string,
    checkpoint: string,
    permissionId: string,
    meta: WriteMeta,
  ): Promise<Permission | undefined>;

  // Access
  /** What a project's model access depends on; undefined when the project does not exist. */
  projectAccess(orgId: string, projectId: string): Promise<ProjectAccessData | undefined>;

  // Audit log (append-only: written only by the writes above)
  listAuditEvents(orgId: string, query: AuditQuery): Promise<Page<AuditEvent> | 'unknown_cursor'>;

  // Export and import
  /** The organization's records of each kind, a page at a time, in insertion order. */
  exportState(orgId: string, pageSize?: number): AsyncIterable<Partial<Omit<OrgState, 'organization'>>>;
  /**
   * Inserts every record not there yet (by id), into the organization `orgId` whatever the records
   * say, in one transaction: all of it or, on a conflict, none of it. With an actor, one
   * `organization.imported` event records it; without (the emulator's seed), no event is written.
   */
  importState(orgId: string, state: Partial<Omit<OrgState, 'organization'>>, meta: WriteMeta): Promise<ImportOutcome>;

  /**
   * Deletes every record of every organization (the emulator's reset, and nothing else), in one
   * transaction; the access versions of every organization that had any move on.
   */
  eraseEverything(): Promise<void>;

  // Bulk loading (seeding, the benchmark)
  /**
   * Inserts the records exactly as given (ids and timestamps included) in one transaction, projects
   * first, then checkpoints, then permissions (numbered in array order). None of the checks of
   * `grantPermissions` run and no audit events are written; the schema's constraints still hold,
   * so a bad batch fails whole.
   */
  bulkInsert(records: BulkRecords): Promise<void>;
}

/**
 * An organization's whole state, records exactly as stored (ids, timestamps, key hashes — never a
 * secret): what export writes and import reads, for backups and moving between stores.
 */
export type OrgState = {
  organization: Organization;
  projects: Project[];
  serviceAccounts: Array<ServiceAccount & { deletedAt: number | null }>;
  apiKeys: ApiKey[];
  checkpoints: Checkpoint[];
  permissions: Permission[];
  modelRules: Array<ModelRule & { projectId: string; updatedAt: number }>;
  auditEvents: AuditEvent[];
};

/** The kinds of records of an OrgState, in the order they must be inserted. */
export const STATE_KINDS = [
  'projects',
  'serviceAccounts',
  'apiKeys',
  'checkpoints',
  'permissions',
  'modelRules',
  'auditEvents',
] as const;

export type StateKind = (typeof STATE_KINDS)[number];

export type StateCounts = Record<StateKind, number>;

export type ImportOutcome =
  | { kind: 'imported'; inserted: StateCounts; skipped: StateCounts }
  /** A record names something of another organization (or an id another organization holds): nothing was imported. */
  | { kind: 'conflict'; message: string; param: string };

export type BulkRecords = {
  projects?: readonly Project[];
  checkpoints?: readonly Checkpoint[];
  permissions?: readonly Permission[];
  auditEvents?: readonly AuditEvent[];
};
