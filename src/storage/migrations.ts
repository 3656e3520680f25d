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

  return { getMigrations: async () => ({ '0001_initial': initial }) };
}
