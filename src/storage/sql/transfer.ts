import type { Selectable, Transaction } from 'kysely';
import type { Database } from '../schema.ts';
import {
  type ImportOutcome,
  type OrgState,
  STATE_KINDS,
  type StateCounts,
  type StateKind,
  type WriteMeta,
} from '../store.ts';
import { chunks, type Executor, keysetAfter, type SqlContext, type WriteTx } from './context.ts';
import {
  apiKeyFromRow,
  apiKeyToRow,
  auditEventFromRow,
  auditEventToRow,
  checkpointFromRow,
  checkpointToRow,
  modelRuleFromRow,
  permissionFromRow,
  permissionToRow,
  projectFromRow,
  projectToRow,
  serviceAccountFromRow,
} from './rows.ts';

/**
 * Export and import of an organization's whole state, records exactly as stored: for backups, and
 * for moving from SQLite to PostgreSQL. Import inserts what is missing and skips what is there
 * (re-importing changes nothing), into the importing organization only: a record that would touch
 * another organization's ids makes the whole request a conflict, so an import can never reach
 * across organizations.
 */

type Part = Partial<Omit<OrgState, 'organization'>>;

/** Rows of a table keyed by `seq`, a page after `after`. */
async function* seqPages<R extends { seq: number }>(page: (after: number) => Promise<R[]>): AsyncGenerator<R[]> {
  let after = 0;
  for (;;) {
    const rows = await page(after);
    if (rows.length === 0) return;
    yield rows;
    after = Number(rows.at(-1)?.seq);
  }
}

type SeqTable = 'projects' | 'checkpoints' | 'checkpoint_permissions';

/** An organization's rows of a table keyed by `seq`, a page at a time. */
const orgPages = <T extends SeqTable>(db: Executor, table: T, orgId: string, pageSize: number) =>
  seqPages<Selectable<Database[T]> & { seq: number }>(
    (after) =>
      // Kysely cannot narrow a query over a union of tables; each of these has org_id and seq.
      db
        .selectFrom(table as SeqTable)
        .selectAll()
        .where('org_id', '=', orgId)
        .where('seq', '>', after)
        .orderBy('seq')
        .limit(pageSize)
        .execute() as Promise<(Selectable<Database[T]> & { seq: number })[]>,
  );

/** Rows of a table keyed by (created_at, id), a page after the last. */
async function* timePages<R extends { created_at: number; id: string }>(
  page: (after: R | undefined) => Promise<R[]>,
): AsyncGenerator<R[]> {
  let last: R | undefined;
  for (;;) {
    const rows = await page(last);
    if (rows.length === 0) return;
    yield rows;
    last = rows.at(-1);
  }
}

export async function* exportState(ctx: SqlContext, orgId: string, pageSize = 5_000): AsyncGenerator<Part> {
  const { db } = ctx;
  for await (const rows of orgPages(db, 'projects', orgId, pageSize)) {
    yield { projects: rows.map(projectFromRow) };
  }
  for await (const rows of timePages<Awaited<ReturnType<typeof serviceAccountPage>>[number]>((last) =>
    serviceAccountPage(db, orgId, last, pageSize),
  )) {
    yield {
      serviceAccounts: rows.map((row) => ({ ...serviceAccountFromRow(row), deletedAt: nullable(row.deleted_at) })),
    };
  }
  for await (const rows of timePages<Awaited<ReturnType<typeof keyPage>>[number]>((last) =>
    keyPage(db, orgId, last, pageSize),
  )) {
    yield { apiKeys: rows.map(apiKeyFromRow) };
  }
  for await (const rows of orgPages(db, 'checkpoints', orgId, pageSize)) {
    yield { checkpoints: rows.map(checkpointFromRow) };
  }
  for await (const rows of orgPages(db, 'checkpoint_permissions', orgId, pageSize)) {
    yield { permissions: rows.map(permissionFromRow) };
  }
  let afterProject = '';
  for (;;) {
    const rows = await db
      .selectFrom('model_permissions')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('project_id', '>', afterProject)
      .orderBy('project_id')
      .limit(pageSize)
      .execute();
    if (rows.length === 0) break;
    yield {
      modelRules: rows.map((row) => ({
        ...modelRuleFromRow(row),
        projectId: row.project_id,
        updatedAt: Number(row.updated_at),
      })),
    };
    afterProject = rows.at(-1)?.project_id ?? afterProject;
  }
  for await (const rows of seqPages((after) =>
    db
      .selectFrom('audit_events')
      .selectAll()
      .select((eb) => eb.val<string | null>(null).as('project_name'))
      .where('org_id', '=', orgId)
      .where('seq', '>', after)
      .orderBy('seq')
      .limit(pageSize)
      .execute(),
  )) {
    yield { auditEvents: rows.map(auditEventFromRow) };
  }
}

const serviceAccountPage = (
  db: Executor,
  orgId: string,
  last: { created_at: number; id: string } | undefined,
  n: number,
) => {
  let select = db.selectFrom('service_accounts').selectAll().where('org_id', '=', orgId);
  if (last) select = select.where(keysetAfter(last, 'asc'));
  return select.orderBy('created_at').orderBy('id').limit(n).execute();
};

const keyPage = (db: Executor, orgId: string, last: { created_at: number; id: string } | undefined, n: number) => {
  let select = db.selectFrom('api_keys').selectAll().where('org_id', '=', orgId);
  if (last) select = select.where(keysetAfter(last, 'asc'));
  return select.orderBy('created_at').orderBy('id').limit(n).execute();
};

const nullable = (value: number | null) => (value === null ? null : Number(value));

const zero = (): StateCounts => Object.fromEntries(STATE_KINDS.map((kind) => [kind, 0])) as StateCounts;

/** Thrown inside the transaction to roll it back; turned into the conflict outcome outside. */
class Conflict extends Error {
  constructor(
    message: string,
    readonly param: string,
  ) {
    super(message);
  }
}

/** Which of `ids` exist in `table`, and in which organization. */
async function owners(
  trx: Transaction<Database>,
  table: 'projects' | 'service_accounts' | 'api_keys' | 'checkpoint_permissions' | 'audit_events',
  ids: readonly string[],
): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  for (const chunk of chunks([...new Set(ids)], 500)) {
    const rows = await trx.selectFrom(table).select(['id', 'org_id']).where('id', 'in', chunk).execute();
    for (const row of rows) found.set(row.id, row.org_id);
  }
  return found;
}

/**
 * Splits `records` into the new ones and the ones the organization has already; an id held by
 * another organization is a conflict.
 */
async function newRecords<T extends { id: string }>(
  trx: Transaction<Database>,
  table: Parameters<typeof owners>[1],
  orgId: string,
  records: readonly T[],
  param: string,
): Promise<T[]> {
  const existing = await owners(
    trx,
    table,
    records.map((r) => r.id),
  );
  const fresh: T[] = [];
  const seen = new Set<string>();
  for (const record of records) {
    const owner = existing.get(record.id);
    if (owner !== undefined && owner !== orgId) {
      throw new Conflict(
        `\`${record.id}\` belongs to another organization (or another store's data): nothing was imported.`,
        param,
      );
    }
    if (owner === undefined && !seen.has(record.id)) {
      seen.add(record.id);
      fresh.push(record);
    }
  }
  return fresh;
}

/** Every id in `ids` must be a project of the organization (imported now or before). */
async function requireProjects(trx: Transaction<Database>, orgId: string, ids: Iterable<string>, param: string) {
  const wanted = [...new Set(ids)];
  const found = await owners(trx, 'projects', wanted);
  for (const id of wanted) {
    if (found.get(id) !== orgId) throw new Conflict(`Project \`${id}\` is not a project of this organization.`, param);
  }
}

export async function importState(
  ctx: SqlContext,
  orgId: string,
  state: Part,
  meta: WriteMeta,
): Promise<ImportOutcome> {
  const inserted = zero();
  const skipped = zero();
  const count = (kind: StateKind, total: number, fresh: number) => {
    inserted[kind] += fresh;
    skipped[kind] += total - fresh;
  };
  try {
    await ctx.write(orgId, meta, async (tx) => {
      await importInto(tx, orgId, state, count);
      const total = Object.values(inserted).reduce((a, b) => a + b, 0);
      // An import by a key is audited. The emulator's seeding (no actor) is not: the state it
      // loads is the seed exactly, so a state dump loaded as a seed dumps the same again.
      if (total > 0 && meta.actor !== null) {
        tx.event({
          type: 'organization.imported',
          projectId: null,
          resourceId: orgId,
          payload: { id: orgId, data: { inserted } },
        });
      }
    });
  } catch (error) {
    if (error instanceof Conflict) return { kind: 'conflict', message: error.message, param: error.param };
    throw error;
  }
  return { kind: 'imported', inserted, skipped };
}

async function importInto(
  tx: WriteTx,
  orgId: string,
  state: Part,
  count: (kind: StateKind, total: number, fresh: number) => void,
): Promise<void> {
  const { trx } = tx;
  const projects = await newRecords(trx, 'projects', orgId, state.projects ?? [], 'projects');
  for (const chunk of chunks(projects, 500)) {
    await trx
      .insertInto('projects')
      .values(chunk.map((p) => projectToRow({ ...p, orgId })))
      .execute();
  }
  count('projects', state.projects?.length ?? 0, projects.length);

  const accounts = await newRecords(trx, 'service_accounts', orgId, state.serviceAccounts ?? [], 'service_accounts');
  await requireProjects(
    trx,
    orgId,
    accounts.map((a) => a.projectId),
    'service_accounts',
  );
  for (const chunk of chunks(accounts, 500)) {
    await trx
      .insertInto('service_accounts')
      .values(
        chunk.map((a) => ({
          id: a.id,
          org_id: orgId,
          project_id: a.projectId,
          name: a.name,
          created_at: a.createdAt,
          role: a.role,
          deleted_at: a.deletedAt,
        })),
      )
      .execute();
  }
  count('serviceAccounts', state.serviceAccounts?.length ?? 0, accounts.length);

  const keys = await newRecords(trx, 'api_keys', orgId, state.apiKeys ?? [], 'api_keys');
  await requireProjects(
    trx,
    orgId,
    keys.flatMap((k) => (k.projectId === null ? [] : [k.projectId])),
    'api_keys',
  );
  const accountOwners = await owners(
    trx,
    'service_accounts',
    keys.flatMap((k) => (k.serviceAccountId ? [k.serviceAccountId] : [])),
  );
  for (const key of keys) {
    if (key.serviceAccountId && accountOwners.get(key.serviceAccountId) !== orgId) {
      throw new Conflict(`Service account \`${key.serviceAccountId}\` is not of this organization.`, 'api_keys');
    }
  }
  // A hash is unique across organizations: one already taken is a conflict, not a skip.
  const hashes = new Set<string>();
  for (const chunk of chunks(
    keys.map((k) => k.hash),
    500,
  )) {
    const taken = await trx.selectFrom('api_keys').select('hash').where('hash', 'in', chunk).execute();
    for (const row of taken) hashes.add(row.hash);
  }
  for (const key of keys) {
    if (hashes.has(key.hash))
      throw new Conflict(`Key \`${key.id}\`'s secret is already a key of this store.`, 'api_keys');
  }
  for (const chunk of chunks(keys, 400)) {
    await trx
      .insertInto('api_keys')
      .values(chunk.map((k) => apiKeyToRow({ ...k, orgId })))
      .execute();
  }
  count('apiKeys', state.apiKeys?.length ?? 0, keys.length);

  const checkpoints = state.checkpoints ?? [];
  await requireProjects(
    trx,
    orgId,
    checkpoints.map((c) => c.projectId),
    'checkpoints',
  );
  let freshCheckpoints = 0;
  for (const chunk of chunks(checkpoints, 500)) {
    const result = await trx
      .insertInto('checkpoints')
      .values(chunk.map((c) => checkpointToRow({ ...c, orgId })))
      .onConflict((oc) => oc.columns(['org_id', 'name']).doNothing())
      .executeTakeFirst();
    freshCheckpoints += Number(result.numInsertedOrUpdatedRows ?? 0);
  }
  count('checkpoints', checkpoints.length, freshCheckpoints);

  const permissions = await newRecords(trx, 'checkpoint_permissions', orgId, state.permissions ?? [], 'permissions');
  await requireProjects(
    trx,
    orgId,
    permissions.map((p) => p.projectId),
    'permissions',
  );
  const names = [...new Set(permissions.map((p) => p.checkpoint))];
  const known = new Set<string>();
  for (const chunk of chunks(names, 500)) {
    const rows = await trx
      .selectFrom('checkpoints')
      .select('name')
      .where('org_id', '=', orgId)
      .where('name', 'in', chunk)
      .execute();
    for (const row of rows) known.add(row.name);
  }
  for (const name of names) {
    if (!known.has(name))
      throw new Conflict(`Checkpoint \`${name}\` is not a checkpoint of this organization.`, 'permissions');
  }
  let freshPermissions = 0;
  for (const chunk of chunks(permissions, 500)) {
    const result = await trx
      .insertInto('checkpoint_permissions')
      .values(chunk.map((p) => permissionToRow({ ...p, orgId })))
      // A (checkpoint, project) pair granted already under another id is the same grant: kept as is.
      .onConflict((oc) => oc.columns(['org_id', 'checkpoint', 'project_id']).doNothing())
      .executeTakeFirst();
    freshPermissions += Number(result.numInsertedOrUpdatedRows ?? 0);
  }
  count('permissions', state.permissions?.length ?? 0, freshPermissions);

  const rules = state.modelRules ?? [];
  await requireProjects(
    trx,
    orgId,
    rules.map((r) => r.projectId),
    'model_permissions',
  );
  let freshRules = 0;
  for (const chunk of chunks(rules, 500)) {
    const result = await trx
      .insertInto('model_permissions')
      .values(
        chunk.map((r) => ({
          project_id: r.projectId,
          org_id: orgId,
          mode: r.mode,
          model_ids: JSON.stringify(r.modelIds),
          updated_at: r.updatedAt,
        })),
      )
      .onConflict((oc) => oc.column('project_id').doNothing())
      .executeTakeFirst();
    freshRules += Number(result.numInsertedOrUpdatedRows ?? 0);
  }
  count('modelRules', rules.length, freshRules);

  const events = await newRecords(trx, 'audit_events', orgId, state.auditEvents ?? [], 'audit_events');
  // The audit log shows a project's name: an event may only name this organization's projects.
  await requireProjects(
    trx,
    orgId,
    events.flatMap((e) => (e.projectId === null ? [] : [e.projectId])),
    'audit_events',
  );
  for (const chunk of chunks(events, 400)) {
    await trx
      .insertInto('audit_events')
      .values(chunk.map((e) => auditEventToRow({ ...e, orgId })))
      .execute();
  }
  count('auditEvents', state.auditEvents?.length ?? 0, events.length);
}
