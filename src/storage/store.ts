/**
 * The store, in domain words. Routes and rules see only this interface; SQL lives in the adapters
 * (`sql-store.ts` over a Kysely dialect from `sqlite.ts` or `postgres.ts`). Every method that writes
 * more than one row runs in one transaction, so an acknowledged write is whole or absent.
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
  revokedAt: number | null;
};

export type ServiceAccount = {
  id: string;
  orgId: string;
  projectId: string;
  name: string;
  createdAt: number;
};

export type Checkpoint = { orgId: string; name: string; projectId: string; createdAt: number };

export type Permission = {
  id: string;
  orgId: string;
  checkpoint: string;
  projectId: string;
  createdAt: number;
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
};

export type RegisterResult =
  | { kind: 'registered'; checkpoint: Checkpoint }
  | { kind: 'owned_by_other_project'; checkpoint: Checkpoint }
  | { kind: 'project_not_found' }
  | { kind: 'project_archived' };

export interface Store {
  readonly kind: 'sqlite' | 'postgres';
  /** True when `error` means the store cannot be reached (answer 503), not that a query was wrong. */
  isUnavailableError(error: unknown): boolean;

  /** Apply pending migrations; safe when many processes call it at once. */
  migrate(): Promise<void>;
  /** Throws when the store cannot answer a trivial query. */
  ping(): Promise<void>;
  close(): Promise<void>;

  // Organizations and keys
  /** The organization and, when given, its first admin key, in one transaction. */
  createOrganization(org: Organization, firstAdminKey?: ApiKey): Promise<void>;
  getOrganization(id: string): Promise<Organization | undefined>;
  /** Inserts the key unless a key with the same hash exists; true when it inserted. */
  addApiKey(key: ApiKey): Promise<boolean>;
  findApiKeyByHash(hash: string): Promise<ApiKey | undefined>;
  countActiveAdminKeys(): Promise<number>;

  // Projects
  createProject(project: Project): Promise<void>;
  getProject(orgId: string, id: string): Promise<Project | undefined>;
  listProjects(orgId: string, query: ProjectQuery): Promise<Page<Project> | 'unknown_cursor'>;
  updateProject(
    orgId: string,
    id: string,
    patch: { name?: string; externalKeyId?: string | null },
  ): Promise<Project | undefined>;
  /** Idempotent: archiving an archived project keeps its first `archivedAt`. */
  archiveProject(orgId: string, id: string, now: number): Promise<Project | undefined>;
  /** Inserts the account and its key (if any) together, or neither. */
  createServiceAccount(
    account: ServiceAccount,
    key: ApiKey | null,
  ): Promise<'created' | 'project_not_found' | 'project_archived'>;

  // Checkpoints (the registry permissions attach to)
  registerCheckpoint(checkpoint: Checkpoint): Promise<RegisterResult>;
  getCheckpoint(orgId: string, name: string): Promise<Checkpoint | undefined>;
  listCheckpoints(orgId: string, query: CheckpointQuery): Promise<Page<Checkpoint> | 'unknown_cursor'>;
  /** Removes the checkpoint and all its permissions in one transaction; false when absent. */
  deleteCheckpoint(orgId: string, name: string): Promise<boolean>;

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
  revokePermission(orgId: string, checkpoint: string, permissionId: string): Promise<Permission | undefined>;

  // Bulk loading (seeding, imports, the benchmark)
  /**
   * Inserts the records exactly as given (ids and timestamps included) in one transaction, projects
   * first, then checkpoints, then permissions (numbered in array order). None of the checks of
   * `grantPermissions` run; the schema's constraints still do, so a bad batch fails whole.
   */
  bulkInsert(records: BulkRecords): Promise<void>;
}

export type BulkRecords = {
  projects?: readonly Project[];
  checkpoints?: readonly Checkpoint[];
  permissions?: readonly Permission[];
};
