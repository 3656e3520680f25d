import { type Kysely, sql, type Transaction } from 'kysely';
import {
  apiKeyFromRow,
  apiKeyToRow,
  checkpointFromRow,
  checkpointToRow,
  permissionFromRow,
  permissionToRow,
  projectFromRow,
  projectToRow,
} from './rows.ts';
import type { Database } from './schema.ts';
import type {
  ApiKey,
  BulkRecords,
  Checkpoint,
  CheckpointQuery,
  GrantRefusal,
  GrantRequest,
  Organization,
  Page,
  Permission,
  PermissionQuery,
  Project,
  ProjectQuery,
  RegisterResult,
  ServiceAccount,
  Store,
} from './store.ts';
import { type Placeholder, Templates } from './templates.ts';

/** What differs between the SQL dialects, decided by the adapter that opens the database. */
export type DialectTraits = {
  kind: Store['kind'];
  /**
   * Postgres runs writers concurrently, so a grant locks the checkpoint and project rows it checked
   * (checkpoint `FOR NO KEY UPDATE`, projects `FOR SHARE`) until it commits: an archive or delete
   * cannot slip between check and insert.
   * SQLite runs one write transaction at a time, which gives the same guarantee without locks.
   */
  rowLocks: boolean;
};

/** The Store over any Kysely dialect; everything dialect-specific comes in through `traits`. */
export abstract class SqlStore implements Store {
  readonly kind: Store['kind'];
  /** The queries every request runs, compiled once (see templates.ts). */
  private readonly templates = new Templates();

  protected constructor(
    protected readonly db: Kysely<Database>,
    private readonly traits: DialectTraits,
  ) {
    this.kind = traits.kind;
  }

  abstract migrate(): Promise<void>;
  abstract isUnavailableError(error: unknown): boolean;

  async ping(): Promise<void> {
    await this.db.selectFrom('organizations').select('id').limit(1).execute();
  }

  async close(): Promise<void> {
    await this.db.destroy();
  }

  // Organizations and keys

  async createOrganization(org: Organization, firstAdminKey?: ApiKey): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.insertInto('organizations').values({ id: org.id, name: org.name, created_at: org.createdAt }).execute();
      if (firstAdminKey) await trx.insertInto('api_keys').values(apiKeyToRow(firstAdminKey)).execute();
    });
  }

  async getOrganization(id: string): Promise<Organization | undefined> {
    const row = await this.db.selectFrom('organizations').selectAll().where('id', '=', id).executeTakeFirst();
    return row && { id: row.id, name: row.name, createdAt: Number(row.created_at) };
  }

  async addApiKey(key: ApiKey): Promise<boolean> {
    const result = await this.db
      .insertInto('api_keys')
      .values(apiKeyToRow(key))
      .onConflict((oc) => oc.column('hash').doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  async findApiKeyByHash(hash: string): Promise<ApiKey | undefined> {
    const [row] = await this.templates
      .get('apiKeyByHash', (p) => this.db.selectFrom('api_keys').selectAll().where('hash', '=', p<string>('hash')))
      .run(this.db, { hash });
    return row && apiKeyFromRow(row);
  }

  async countActiveAdminKeys(): Promise<number> {
    const row = await this.db
      .selectFrom('api_keys')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('kind', '=', 'admin')
      .where('revoked_at', 'is', null)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  // Projects

  async createProject(project: Project): Promise<void> {
    await this.db.insertInto('projects').values(projectToRow(project)).execute();
  }

  async getProject(orgId: string, id: string): Promise<Project | undefined> {
    const row = await this.db
      .selectFrom('projects')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('id', '=', id)
      .executeTakeFirst();
    return row && projectFromRow(row);
  }

  async listProjects(orgId: string, query: ProjectQuery): Promise<Page<Project> | 'unknown_cursor'> {
    let select = this.db.selectFrom('projects').selectAll().where('org_id', '=', orgId);
    if (!query.includeArchived) select = select.where('archived_at', 'is', null);
    if (query.after !== undefined) {
      const cursor = await this.db
        .selectFrom('projects')
        .select('seq')
        .where('org_id', '=', orgId)
        .where('id', '=', query.after)
        .executeTakeFirst();
      if (!cursor) return 'unknown_cursor';
      select = select.where('seq', '>', cursor.seq);
    }
    const rows = await select.orderBy('seq', 'asc').limit(pageLimit(query.limit)).execute();
    return toPage(rows.map(projectFromRow), query.limit);
  }

  async updateProject(
    orgId: string,
    id: string,
    patch: { name?: string; externalKeyId?: string | null },
  ): Promise<Project | undefined> {
    const changes: { name?: string; external_key_id?: string | null } = {};
    if (patch.name !== undefined) changes.name = patch.name;
    if (patch.externalKeyId !== undefined) changes.external_key_id = patch.externalKeyId;
    if (Object.keys(changes).length === 0) return this.getProject(orgId, id);
    const row = await this.db
      .updateTable('projects')
      .set(changes)
      .where('org_id', '=', orgId)
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirst();
    return row && projectFromRow(row);
  }

  async archiveProject(orgId: string, id: string, now: number): Promise<Project | undefined> {
    const row = await this.db
      .updateTable('projects')
      .set((eb) => ({ archived_at: eb.fn.coalesce('archived_at', eb.val(now)) }))
      .where('org_id', '=', orgId)
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirst();
    return row && projectFromRow(row);
  }

  async createServiceAccount(
    account: ServiceAccount,
    key: ApiKey | null,
  ): Promise<'created' | 'project_not_found' | 'project_archived'> {
    return this.db.transaction().execute(async (trx) => {
      const project = await this.lockedProjects(trx, account.orgId, [account.projectId]);
      const found = project[0];
      if (!found) return 'project_not_found';
      if (found.archived_at !== null) return 'project_archived';
      await trx
        .insertInto('service_accounts')
        .values({
          id: account.id,
          org_id: account.orgId,
          project_id: account.projectId,
          name: account.name,
          created_at: account.createdAt,
        })
        .execute();
      if (key) await trx.insertInto('api_keys').values(apiKeyToRow(key)).execute();
      return 'created';
    });
  }

  // Checkpoints

  async registerCheckpoint(checkpoint: Checkpoint): Promise<RegisterResult> {
    return this.db.transaction().execute(async (trx) => {
      // Registering again with the same owner returns it (CONTRACT §6), even once that owner is
      // archived: nothing new is owned.
      const existing = await this.findCheckpoint(trx, checkpoint.orgId, checkpoint.name);
      if (existing?.projectId === checkpoint.projectId) return { kind: 'registered', checkpoint: existing };
      const [project] = await this.lockedProjects(trx, checkpoint.orgId, [checkpoint.projectId]);
      if (!project) return { kind: 'project_not_found' };
      if (project.archived_at !== null) return { kind: 'project_archived' };
      await trx
        .insertInto('checkpoints')
        .values(checkpointToRow(checkpoint))
        .onConflict((oc) => oc.columns(['org_id', 'name']).doNothing())
        .execute();
      const stored = await this.findCheckpoint(trx, checkpoint.orgId, checkpoint.name);
      if (!stored) throw new Error(`checkpoint ${checkpoint.name} vanished inside its own transaction`);
      return stored.projectId === checkpoint.projectId
        ? { kind: 'registered', checkpoint: stored }
        : { kind: 'owned_by_other_project', checkpoint: stored };
    });
  }

  getCheckpoint(orgId: string, name: string): Promise<Checkpoint | undefined> {
    return this.findCheckpoint(this.db, orgId, name);
  }

  /** One checkpoint by name, on the store or inside a transaction. */
  private async findCheckpoint(
    executor: Kysely<Database> | Transaction<Database>,
    orgId: string,
    name: string,
  ): Promise<Checkpoint | undefined> {
    const [row] = await this.templates
      .get('checkpoint', (p) =>
        this.db
          .selectFrom('checkpoints')
          .selectAll()
          .where('org_id', '=', p<string>('orgId'))
          .where('name', '=', p<string>('name')),
      )
      .run(executor, { orgId, name });
    return row && checkpointFromRow(row);
  }

  async listCheckpoints(orgId: string, query: CheckpointQuery): Promise<Page<Checkpoint> | 'unknown_cursor'> {
    let select = this.db.selectFrom('checkpoints').selectAll().where('org_id', '=', orgId);
    if (query.projectId !== undefined) select = select.where('project_id', '=', query.projectId);
    if (query.after !== undefined) {
      const cursor = await this.db
        .selectFrom('checkpoints')
        .select('seq')
        .where('org_id', '=', orgId)
        .where('name', '=', query.after)
        .executeTakeFirst();
      if (!cursor) return 'unknown_cursor';
      select = select.where('seq', '>', cursor.seq);
    }
    const rows = await select.orderBy('seq', 'asc').limit(pageLimit(query.limit)).execute();
    return toPage(rows.map(checkpointFromRow), query.limit);
  }

  async deleteCheckpoint(orgId: string, name: string): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      // Lock the checkpoint before its permissions, in the order a grant takes them: deleting
      // permissions first deadlocks against a grant that holds the checkpoint and re-inserts one.
      if (this.traits.rowLocks) {
        await trx
          .selectFrom('checkpoints')
          .select('name')
          .where('org_id', '=', orgId)
          .where('name', '=', name)
          .forUpdate()
          .execute();
      }
      await trx
        .deleteFrom('checkpoint_permissions')
        .where('org_id', '=', orgId)
        .where('checkpoint', '=', name)
        .execute();
      const result = await trx
        .deleteFrom('checkpoints')
        .where('org_id', '=', orgId)
        .where('name', '=', name)
        .executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    });
  }

  // Permissions

  async grantPermissions(request: GrantRequest): Promise<Permission[] | GrantRefusal> {
    const { orgId, checkpoint, projectIds } = request;
    return this.db.transaction().execute(async (trx) => {
      const checkpointRow = this.templates.get('grantCheckpoint', (p) => {
        const select = trx
          .selectFrom('checkpoints')
          .select('name')
          .where('org_id', '=', p<string>('orgId'))
          .where('name', '=', p<string>('checkpoint'));
        // FOR NO KEY UPDATE, not FOR SHARE: grants of one checkpoint take turns. Run side by side,
        // two grants of overlapping projects in different orders deadlock on the unique index.
        return this.traits.rowLocks ? select.forNoKeyUpdate() : select;
      });
      if ((await checkpointRow.run(trx, { orgId, checkpoint })).length === 0) return { kind: 'checkpoint_not_found' };

      const projects = new Map((await this.lockedProjects(trx, orgId, projectIds)).map((p) => [p.id, p.archived_at]));
      for (const projectId of projectIds) {
        const archivedAt = projects.get(projectId);
        if (archivedAt === undefined) return { kind: 'project_not_found', projectId };
        if (archivedAt !== null) return { kind: 'project_archived', projectId };
      }

      // One statement, rows in request order: the database numbers them (seq) in that order, which
      // is what makes "created by one request" list in request order. Existing grants are kept.
      const n = projectIds.length;
      const values: Record<string, unknown> = { orgId, checkpoint, now: request.now() };
      projectIds.forEach((projectId, i) => {
        values[`id${i}`] = request.newPermissionId();
        values[`project${i}`] = projectId;
      });
      await this.templates
        .get(`grantInsert:${n}`, (p) =>
          trx
            .insertInto('checkpoint_permissions')
            .values(
              Array.from({ length: n }, (_, i) => ({
                id: p<string>(`id${i}`),
                org_id: p<string>('orgId'),
                checkpoint: p<string>('checkpoint'),
                project_id: p<string>(`project${i}`),
                created_at: p<number>('now'),
              })),
            )
            .onConflict((oc) => oc.columns(['org_id', 'checkpoint', 'project_id']).doNothing()),
        )
        .run(trx, values);

      const rows = await this.templates
        .get(`grantRows:${n}`, (p) =>
          trx
            .selectFrom('checkpoint_permissions')
            .selectAll()
            .where('org_id', '=', p<string>('orgId'))
            .where('checkpoint', '=', p<string>('checkpoint'))
            .where(
              'project_id',
              'in',
              Array.from({ length: n }, (_, i) => p<string>(`project${i}`)),
            ),
        )
        .run(trx, values);
      const byProject = new Map(rows.map((row) => [row.project_id, permissionFromRow(row)]));
      return projectIds.map((projectId) => {
        const permission = byProject.get(projectId);
        if (!permission) throw new Error(`grant of ${projectId} vanished inside its own transaction`);
        return permission;
      });
    });
  }

  /** The `seq` of the permission `after` names, within the listed checkpoint (and project). */
  private permissionCursor(p: Placeholder, byProject: boolean) {
    const cursor = this.db
      .selectFrom('checkpoint_permissions as cursor')
      .select('cursor.seq')
      .where('cursor.org_id', '=', p<string>('orgId'))
      .where('cursor.checkpoint', '=', p<string>('checkpoint'))
      .where('cursor.id', '=', p<string>('after'));
    return byProject ? cursor.where('cursor.project_id', '=', p<string>('projectId')) : cursor;
  }

  async listPermissions(
    orgId: string,
    checkpoint: string,
    query: PermissionQuery,
  ): Promise<Page<Permission> | 'unknown_cursor'> {
    const descending = query.order === 'descending';
    const byProject = query.projectId !== undefined;
    const values: Record<string, unknown> = { orgId, checkpoint, projectId: query.projectId, after: query.after };
    const after = query.after !== undefined;
    const rows = await this.templates
      .get(`permissionPage:${descending}:${byProject}:${after}:${query.limit}`, (p) => {
        let select = this.db
          .selectFrom('checkpoint_permissions')
          .select(['id', 'project_id', 'created_at'])
          .where('org_id', '=', p<string>('orgId'))
          .where('checkpoint', '=', p<string>('checkpoint'));
        if (byProject) select = select.where('project_id', '=', p<string>('projectId'));
        // The cursor's position is looked up inside the page's own statement: one round trip to
        // PostgreSQL, not two. An unknown cursor gives NULL, so an empty page (told apart below).
        if (after) select = select.where('seq', descending ? '<' : '>', this.permissionCursor(p, byProject));
        return select.orderBy('seq', descending ? 'desc' : 'asc').limit(pageLimit(query.limit));
      })
      .run(this.db, values);
    if (after && rows.length === 0) {
      const cursor = this.templates.get(`permissionCursor:${byProject}`, (p) => this.permissionCursor(p, byProject));
      if ((await cursor.run(this.db, values)).length === 0) return 'unknown_cursor';
    }
    // org_id and checkpoint are the query's own: not read back, one string conversion less per column.
    const items = rows.map((row) => ({
      id: row.id,
      orgId,
      checkpoint,
      projectId: row.project_id,
      createdAt: Number(row.created_at),
    }));
    return toPage(items, query.limit);
  }

  async revokePermission(orgId: string, checkpoint: string, permissionId: string): Promise<Permission | undefined> {
    const [row] = await this.templates
      .get('revokePermission', (p) =>
        this.db
          .deleteFrom('checkpoint_permissions')
          .where('org_id', '=', p<string>('orgId'))
          .where('checkpoint', '=', p<string>('checkpoint'))
          .where('id', '=', p<string>('permissionId'))
          .returningAll(),
      )
      .run(this.db, { orgId, checkpoint, permissionId });
    return row && permissionFromRow(row);
  }

  // Bulk loading

  async bulkInsert(records: BulkRecords): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      for (const chunk of chunks(records.projects ?? [])) {
        await trx.insertInto('projects').values(chunk.map(projectToRow)).execute();
      }
      for (const chunk of chunks(records.checkpoints ?? [])) {
        await trx.insertInto('checkpoints').values(chunk.map(checkpointToRow)).execute();
      }
      for (const chunk of chunks(records.permissions ?? [])) {
        await trx.insertInto('checkpoint_permissions').values(chunk.map(permissionToRow)).execute();
      }
    });
  }

  /** The org's projects among `ids`, share-locked until the transaction ends where the dialect has row locks. */
  private async lockedProjects(trx: Transaction<Database>, orgId: string, ids: string[]) {
    const values: Record<string, unknown> = { orgId };
    ids.forEach((id, i) => {
      values[`id${i}`] = id;
    });
    return this.templates
      .get(`lockedProjects:${ids.length}`, (p) => {
        const select = trx
          .selectFrom('projects')
          .select(['id', 'archived_at'])
          .where('org_id', '=', p<string>('orgId'))
          .where(
            'id',
            'in',
            ids.map((_, i) => p<string>(`id${i}`)),
          );
        return this.traits.rowLocks ? select.forShare() : select;
      })
      .run(trx, values);
  }
}

/** Multi-row inserts of at most 500 rows: under both dialects' bound-parameter limits at 6 columns. */
function* chunks<T>(items: readonly T[], size = 500): Generator<T[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
}

/**
 * `limit + 1` rows (the extra one says whether there is more), written into the SQL rather than
 * bound: SQLite re-prepares a statement whose LIMIT is a bound parameter every time it is bound
 * (its planner reads the value), which cost a list query as much again as running it. The page
 * size is a validated integer of 1..100, so at most a hundred statements per shape.
 */
function pageLimit(limit: number) {
  if (!Number.isInteger(limit) || limit < 1 || limit > 1_000) throw new Error(`bad page size ${limit}`);
  return sql.lit(limit + 1);
}

/** Rows were fetched with `limit + 1`: the extra row only says whether there is more. */
function toPage<T>(items: T[], limit: number): Page<T> {
  return items.length > limit ? { items: items.slice(0, limit), hasMore: true } : { items, hasMore: false };
}
