import type { Kysely } from 'kysely';
import type { Database } from './schema.ts';
import { projectAccess } from './sql/access.ts';
import { listAuditEvents } from './sql/audit.ts';
import { bulkInsert } from './sql/bulk.ts';
import {
  allCheckpoints,
  deleteCheckpoint,
  existingCheckpoints,
  findCheckpoint,
  listCheckpoints,
  registerCheckpoint,
} from './sql/checkpoints.ts';
import { type DialectTraits, SqlContext } from './sql/context.ts';
import * as keys from './sql/keys.ts';
import { deleteModelRule, getModelRule, setModelRule } from './sql/model-rules.ts';
import { grantPermissions, listPermissions, revokePermission } from './sql/permissions.ts';
import * as projects from './sql/projects.ts';
import * as serviceAccounts from './sql/service-accounts.ts';
import { exportState, importState } from './sql/transfer.ts';
import type { Store } from './store.ts';

export type { DialectTraits } from './sql/context.ts';

/**
 * The Store over any Kysely dialect; everything dialect-specific comes in through `traits` (and
 * the adapter's overrides). Each group of methods lives in `sql/`, as functions of the shared
 * `SqlContext`; this class only gives them the Store's shape.
 */
export abstract class SqlStore implements Store {
  readonly kind: Store['kind'];
  readonly writers: Store['writers'];
  protected readonly ctx: SqlContext;

  protected constructor(
    protected readonly db: Kysely<Database>,
    traits: DialectTraits,
  ) {
    this.kind = traits.kind;
    this.writers = traits.writers;
    this.ctx = new SqlContext(db, traits);
  }

  abstract migrate(): Promise<void>;
  abstract isUnavailableError(error: unknown): boolean;

  async ping(): Promise<void> {
    await this.db.selectFrom('organizations').select('id').limit(1).execute();
  }

  async close(): Promise<void> {
    await this.db.destroy();
  }

  onChange(listener: (orgId: string) => void): void {
    this.ctx.onChange(listener);
  }

  async accessVersions(orgIds: readonly string[]): Promise<Map<string, number>> {
    const versions = new Map(orgIds.map((id) => [id, 0]));
    if (orgIds.length === 0) return versions;
    const rows = await this.db
      .selectFrom('access_versions')
      .select((eb) => ['org_id', eb.fn.sum<number>('n').as('n')])
      .where('org_id', 'in', [...orgIds])
      .groupBy('org_id')
      .execute();
    for (const row of rows) versions.set(row.org_id, Number(row.n));
    return versions;
  }

  // Organizations and keys
  createOrganization: Store['createOrganization'] = (org, key, meta) =>
    keys.createOrganization(this.ctx, org, key, meta);
  getOrganization: Store['getOrganization'] = (id) => keys.getOrganization(this.ctx, id);
  listOrganizations: Store['listOrganizations'] = () => keys.listOrganizations(this.ctx);
  addApiKey: Store['addApiKey'] = (key, meta, replacing) => keys.addApiKey(this.ctx, key, meta, replacing);
  findApiKeyByHash: Store['findApiKeyByHash'] = (hash) => keys.findApiKeyByHash(this.ctx, hash);
  countActiveAdminKeys: Store['countActiveAdminKeys'] = (now) => keys.countActiveAdminKeys(this.ctx, now);
  touchApiKeys: Store['touchApiKeys'] = (lastUsed) => keys.touchApiKeys(this.ctx, lastUsed);
  listAdminKeys: Store['listAdminKeys'] = (orgId, query) => keys.listAdminKeys(this.ctx, orgId, query);
  getAdminKey: Store['getAdminKey'] = (orgId, id) => keys.getAdminKey(this.ctx, orgId, id);
  deleteAdminKey: Store['deleteAdminKey'] = (orgId, id, meta) => keys.deleteAdminKey(this.ctx, orgId, id, meta);

  // Projects
  createProject: Store['createProject'] = (project, meta) => projects.createProject(this.ctx, project, meta);
  getProject: Store['getProject'] = (orgId, id) => projects.getProject(this.ctx, orgId, id);
  listProjects: Store['listProjects'] = (orgId, query) => projects.listProjects(this.ctx, orgId, query);
  updateProject: Store['updateProject'] = (orgId, id, patch, meta) =>
    projects.updateProject(this.ctx, orgId, id, patch, meta);
  archiveProject: Store['archiveProject'] = (orgId, id, meta) => projects.archiveProject(this.ctx, orgId, id, meta);

  // Service accounts and project keys
  createServiceAccount: Store['createServiceAccount'] = (account, key, meta) =>
    serviceAccounts.createServiceAccount(this.ctx, account, key, meta);
  listServiceAccounts: Store['listServiceAccounts'] = (orgId, projectId, query) =>
    serviceAccounts.listServiceAccounts(this.ctx, orgId, projectId, query);
  getServiceAccount: Store['getServiceAccount'] = (orgId, projectId, id) =>
    serviceAccounts.getServiceAccount(this.ctx, orgId, projectId, id);
  updateServiceAccount: Store['updateServiceAccount'] = (orgId, projectId, id, patch, meta) =>
    serviceAccounts.updateServiceAccount(this.ctx, orgId, projectId, id, patch, meta);
  deleteServiceAccount: Store['deleteServiceAccount'] = (orgId, projectId, id, meta) =>
    serviceAccounts.deleteServiceAccount(this.ctx, orgId, projectId, id, meta);
  addServiceAccountKey: Store['addServiceAccountKey'] = (key, scopes, meta) =>
    serviceAccounts.addServiceAccountKey(this.ctx, key, scopes, meta);
  listProjectKeys: Store['listProjectKeys'] = (orgId, projectId, query) =>
    serviceAccounts.listProjectKeys(this.ctx, orgId, projectId, query);
  getProjectKey: Store['getProjectKey'] = (orgId, projectId, id) =>
    serviceAccounts.getProjectKey(this.ctx, orgId, projectId, id);
  updateProjectKey: Store['updateProjectKey'] = (orgId, projectId, id, patch, meta) =>
    serviceAccounts.updateProjectKey(this.ctx, orgId, projectId, id, patch, meta);
  deleteProjectKey: Store['deleteProjectKey'] = (orgId, projectId, id, meta) =>
    serviceAccounts.deleteProjectKey(this.ctx, orgId, projectId, id, meta);

  // Model permissions
  getModelRule: Store['getModelRule'] = (orgId, projectId) => getModelRule(this.ctx, orgId, projectId);
  setModelRule: Store['setModelRule'] = (orgId, projectId, rule, meta) =>
    setModelRule(this.ctx, orgId, projectId, rule, meta);
  deleteModelRule: Store['deleteModelRule'] = (orgId, projectId, meta) =>
    deleteModelRule(this.ctx, orgId, projectId, meta);

  // Checkpoints
  registerCheckpoint: Store['registerCheckpoint'] = (checkpoint, meta) =>
    registerCheckpoint(this.ctx, checkpoint, meta);
  getCheckpoint: Store['getCheckpoint'] = (orgId, name) => findCheckpoint(this.ctx, this.db, orgId, name);
  existingCheckpoints: Store['existingCheckpoints'] = (orgId, names) => existingCheckpoints(this.ctx, orgId, names);
  listCheckpoints: Store['listCheckpoints'] = (orgId, query) => listCheckpoints(this.ctx, orgId, query);
  allCheckpoints: Store['allCheckpoints'] = (orgId) => allCheckpoints(this.ctx, orgId);
  deleteCheckpoint: Store['deleteCheckpoint'] = (orgId, name, meta) => deleteCheckpoint(this.ctx, orgId, name, meta);

  // Permissions
  grantPermissions: Store['grantPermissions'] = (request) => grantPermissions(this.ctx, request);
  listPermissions: Store['listPermissions'] = (orgId, checkpoint, query) =>
    listPermissions(this.ctx, orgId, checkpoint, query);
  revokePermission: Store['revokePermission'] = (orgId, checkpoint, permissionId, meta) =>
    revokePermission(this.ctx, orgId, checkpoint, permissionId, meta);

  // Access and audit
  projectAccess: Store['projectAccess'] = (orgId, projectId) => projectAccess(this.ctx, orgId, projectId);
  listAuditEvents: Store['listAuditEvents'] = (orgId, query) => listAuditEvents(this.ctx, orgId, query);

  // Export and import
  exportState: Store['exportState'] = (orgId, pageSize) => exportState(this.ctx, orgId, pageSize);
  importState: Store['importState'] = (orgId, state, meta) => importState(this.ctx, orgId, state, meta);

  eraseEverything: Store['eraseEverything'] = () => this.ctx.eraseEverything();

  bulkInsert: Store['bulkInsert'] = (records) => bulkInsert(this.ctx, records);
}
