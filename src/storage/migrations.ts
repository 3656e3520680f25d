import { type Kysely, type Migration, type MigrationProvider, sql } from 'kysely';

/**
 * Schema migrations, in code so they ship with the server and run at start. The only dialect
 * difference is how `seq` is generated: SQLite's rowid alias versus a Postgres identity column.
 * Names sort in apply order; never edit a released migration, add the next one.
 */
export function migrationsFor(dialect: 'sqlite' | 'postgres'): MigrationProvider {
  // biome-ignore lint/suspicious/noExplicitAny: migrations must not depend on today's row types
  type Db = Kysely<any>;
  const seqColumn = (table: string) =>
    dialect === 'sqlite'
      ? sql.raw(`create table ${table} (seq integer primary key`)
      : sql.raw(`create table ${table} (seq bigint generated always as identity primary key`);

  const initial: Migration = {
    async up(db: Db) {
      await db.schema
        .createTable('organizations')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();

      await sql`${seqColumn('projects')},
        id text not null unique,
        org_id text not null references organizations (id),
        name text not null,
        external_key_id text,
        created_at bigint not null,
        archived_at bigint)`.execute(db);
      await db.schema.createIndex('projects_by_org').on('projects').columns(['org_id', 'seq']).execute();

      await db.schema
        .createTable('api_keys')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('org_id', 'text', (c) => c.notNull().references('organizations.id'))
        .addColumn('project_id', 'text', (c) => c.references('projects.id'))
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull().unique())
        .addColumn('redacted', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('revoked_at', 'bigint')
        .execute();

      await db.schema
        .createTable('service_accounts')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('org_id', 'text', (c) => c.notNull().references('organizations.id'))
        .addColumn('project_id', 'text', (c) => c.notNull().references('projects.id'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();

      // Checkpoint names are unique per organization, not globally: another organization
      // registering the same name must not learn that it exists elsewhere.
      await sql`${seqColumn('checkpoints')},
        org_id text not null references organizations (id),
        name text not null,
        project_id text not null references projects (id),
        created_at bigint not null,
        unique (org_id, name))`.execute(db);
      await db.schema.createIndex('checkpoints_by_org_seq').on('checkpoints').columns(['org_id', 'seq']).execute();

      await sql`${seqColumn('checkpoint_permissions')},
        id text not null unique,
        org_id text not null,
        checkpoint text not null,
        project_id text not null references projects (id),
        created_at bigint not null,
        unique (org_id, checkpoint, project_id),
        foreign key (org_id, checkpoint) references checkpoints (org_id, name) on delete cascade)`.execute(db);
      // Every permission list is a keyset scan of this index: (checkpoint, seq) in either order.
      await db.schema
        .createIndex('checkpoint_permissions_by_checkpoint_seq')
        .on('checkpoint_permissions')
        .columns(['org_id', 'checkpoint', 'seq'])
        .execute();
      await db.schema
        .createIndex('checkpoint_permissions_by_project')
        .on('checkpoint_permissions')
        .column('project_id')
        .execute();
    },
  };

  /**
   * Grants take effect (keys, service accounts, model permissions, access versions) and the audit
   * log. Existing project keys are linked to the service account created with them (same project,
   * same second): before this migration a service account and its key were written together.
   */
  const accessAndAudit: Migration = {
    async up(db: Db) {
      await sql`alter table api_keys add column service_account_id text references service_accounts (id)`.execute(db);
      await sql`alter table api_keys add column expires_at bigint`.execute(db);
      await sql`alter table api_keys add column last_used_at bigint`.execute(db);
      await sql`update api_keys set service_account_id = (
          select sa.id from service_accounts sa
          where sa.project_id = api_keys.project_id and sa.created_at = api_keys.created_at
          order by sa.id limit 1)
        where kind = 'project'`.execute(db);
      // Key lists are ordered by (created_at, id): a total order without a row counter. Only live
      // keys are listed or checked, and deleted ones pile up (rotations, service accounts come and
      // go): partial indexes keep those reads proportional to the keys that still work.
      await sql`create index api_keys_by_org_kind on api_keys (org_id, kind, created_at, id) where revoked_at is null`.execute(
        db,
      );
      await sql`create index api_keys_by_project on api_keys (org_id, project_id, created_at, id) where revoked_at is null`.execute(
        db,
      );
      await db.schema.createIndex('api_keys_by_service_account').on('api_keys').column('service_account_id').execute();

      await sql`alter table service_accounts add column role text not null default 'member'`.execute(db);
      await sql`alter table service_accounts add column deleted_at bigint`.execute(db);
      await db.schema
        .createIndex('service_accounts_by_project')
        .on('service_accounts')
        .columns(['project_id', 'created_at', 'id'])
        .execute();

      // What is shared with a project, for its access set. The (org_id, checkpoint, project_id)
      // unique index would otherwise be chosen for `org_id = ?`, a scan of the whole organization.
      // It serves every lookup the (project_id) index of 0001 served, which every grant paid for.
      await db.schema
        .createIndex('checkpoint_permissions_by_grantee')
        .on('checkpoint_permissions')
        .columns(['org_id', 'project_id', 'checkpoint'])
        .execute();
      await db.schema.dropIndex('checkpoint_permissions_by_project').execute();
      // A project's own checkpoints, for its access set and the registry's project filter.
      await db.schema
        .createIndex('checkpoints_by_owner')
        .on('checkpoints')
        .columns(['org_id', 'project_id', 'seq'])
        .execute();

      await db.schema
        .createTable('model_permissions')
        .addColumn('project_id', 'text', (c) => c.primaryKey().references('projects.id'))
        .addColumn('org_id', 'text', (c) => c.notNull().references('organizations.id'))
        .addColumn('mode', 'text', (c) => c.notNull())
        // A JSON array of model ids: read and written whole, never queried inside.
        .addColumn('model_ids', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();

      // How many access-changing writes each organization has committed, split over a few rows
      // (shards) so concurrent writers rarely wait on one another. Replicas compare the sum with
      // the one their cached answers were computed at (src/domain/freshness.ts).
      await db.schema
        .createTable('access_versions')
        .addColumn('org_id', 'text', (c) => c.notNull())
        .addColumn('shard', 'integer', (c) => c.notNull())
        .addColumn('n', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('access_versions_pk', ['org_id', 'shard'])
        .execute();

      // The audit log: append-only, `seq` assigned in the writing transaction gives its order.
      await sql`${seqColumn('audit_events')},
        id text not null unique,
        org_id text not null,
        type text not null,
        effective_at bigint not null,
        project_id text,
        actor_id text,
        resource_id text not null,
        actor text,
        payload text not null)`.execute(db);
      // Every filter has an index that ends in seq, so a page is a short backward scan of it. A
      // project's events come from (project, type) with one scan per type (sql/audit.ts): every
      // index costs every write, and a project-only index would cost as much as this one.
      for (const [name, columns] of [
        ['audit_events_by_org', ['org_id', 'seq']],
        ['audit_events_by_project_type', ['org_id', 'project_id', 'type', 'seq']],
        ['audit_events_by_type', ['org_id', 'type', 'seq']],
        ['audit_events_by_resource', ['org_id', 'resource_id', 'seq']],
        ['audit_events_by_actor', ['org_id', 'actor_id', 'seq']],
      ] as const) {
        await db.schema
          .createIndex(name)
          .on('audit_events')
          .columns([...columns])
          .execute();
      }
    },
  };

  return { getMigrations: async () => ({ '0001_initial': initial, '0002_access_and_audit': accessAndAudit }) };
}
