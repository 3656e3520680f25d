import { randomBytes } from 'node:crypto';
import { bootstrapAdminKey, DEFAULT_ORG_ID } from '../src/domain/bootstrap.ts';
import { mintKey } from '../src/domain/keys.ts';
import { newId, randomBase62, systemClock } from '../src/ids.ts';
import { openStore } from '../src/storage/open.ts';
import type { AuditEvent, Checkpoint, Permission, Project, Store } from '../src/storage/store.ts';

/**
 * The data set the server is measured on, written through the Store (its `bulkInsert`, one
 * transaction per batch) before the server starts, so seeding costs no HTTP and the server opens
 * a store exactly as an operator's would be.
 *
 * Shape, at both sizes:
 * - 2,000 projects, all in the default organization (the one FTSHARE_ADMIN_KEY belongs to);
 * - the *hot* checkpoint, shared with 1,000 projects: every list request reads it, so the list
 *   figures at both sizes read the same list and differ only in what surrounds it;
 * - 200 *create-target* checkpoints with no permissions: each create request grants one of their
 *   400,000 (checkpoint, project) pairs, a new one every time.
 * The large size adds 9,999 more checkpoints sharing the other 999,000 permissions (99 or 100
 * each), inserted checkpoint by checkpoint, as grants of up to 100 projects per request write them.
 *
 * For the access routes, at both sizes: project keys (a service account each) for 20 projects,
 * each with the checkpoints shared with it; and a *wide* project that may use 1,000 models (1,000
 * checkpoints of its own shared with it, on top of the permissions above). For the audit log:
 * `auditEvents` events over every project, of which the *audited* project has the same 50
 * `checkpoint.permission.created` events at both sizes: its filtered page is the same page.
 */
export type SizeSpec = {
  label: 'small' | 'large';
  permissions: number;
  checkpoints: number;
  projects: number;
  auditEvents: number;
};

export const SIZES = {
  small: { label: 'small', permissions: 1_000, checkpoints: 1, projects: 2_000, auditEvents: 1_000 },
  large: { label: 'large', permissions: 1_000_000, checkpoints: 10_000, projects: 2_000, auditEvents: 1_000_000 },
} as const satisfies Record<string, SizeSpec>;

/** The access routes' keys: each project key, and the models shared with its project. */
export type ProjectKey = { secret: string; projectId: string; models: string[] };

const HOT_PERMISSIONS = 1_000;
const CREATE_TARGETS = 200;
/** Rows per `bulkInsert` call, i.e. per transaction. */
const BATCH = 20_000;

export type Dataset = {
  size: SizeSpec;
  adminKey: string;
  projects: string[];
  hotCheckpoint: string;
  /** A permission of the hot checkpoint 900 entries deep in its default (descending) order. */
  deepCursor: string;
  createTargets: string[];
  /** Permissions in the store after seeding (the size's figure, without the wide project's 1,000). */
  permissions: number;
  seedSeconds: number;
  projectKeys: ProjectKey[];
  /** The key of the project that may use 1,000 models. */
  wideKey: string;
  /** The project whose audit page is measured, and how many events the store holds. */
  auditedProject: string;
  auditEvents: number;
};

const TRACKED_PROJECTS = 20;
const WIDE_MODELS = 1_000;
const AUDITED_EVENTS = 50;

export const checkpointName = (kind: string, i: number) =>
  `ft:gpt-4o-mini-2024-07-18:bench:${kind}-${i}:${String(i).padStart(8, '0')}`;

/** A fresh admin key of the shape FTSHARE_ADMIN_KEY accepts. */
export const benchAdminKey = () => `sk-admin-bench${randomBytes(24).toString('hex')}`;

/** Opens (and migrates) the store at `db` the way the server will. */
export function openBenchStore(db: string): Promise<Store> {
  return openStore({ db, poolSize: 4, statementTimeoutMs: 0, tls: 'disable' });
}

export async function seed(store: Store, size: SizeSpec, adminKey: string): Promise<Dataset> {
  const started = performance.now();
  await bootstrapAdminKey(store, systemClock, adminKey);
  const orgId = DEFAULT_ORG_ID;
  const now = systemClock.nowSeconds();
  const yearAgo = now - 365 * 86_400;

  const projects: Project[] = Array.from({ length: size.projects }, (_, i) => ({
    id: newId.project(),
    orgId,
    name: `bench project ${i}`,
    externalKeyId: null,
    createdAt: yearAgo,
    archivedAt: null,
  }));
  const owner = (i: number) => projects[i % projects.length]?.id ?? '';
  const checkpoints: Checkpoint[] = [];
  const hotCheckpoint = checkpointName('hot', 0);
  checkpoints.push({ orgId, name: hotCheckpoint, projectId: owner(0), createdAt: yearAgo });
  const createTargets = Array.from({ length: CREATE_TARGETS }, (_, i) => checkpointName('create', i));
  for (const [i, name] of createTargets.entries()) {
    checkpoints.push({ orgId, name, projectId: owner(i), createdAt: yearAgo });
  }
  const others = Array.from({ length: size.checkpoints - 1 }, (_, i) => checkpointName('bulk', i + 1));
  for (const [i, name] of others.entries()) checkpoints.push({ orgId, name, projectId: owner(i), createdAt: yearAgo });
  await store.bulkInsert({ projects, checkpoints });

  // How many permissions each checkpoint gets: the hot one 1,000, the others share the rest.
  const rest = size.permissions - HOT_PERMISSIONS;
  const counts = others.map((_, i) => Math.floor(rest / others.length) + (i < rest % others.length ? 1 : 0));
  const hotIds: string[] = [];
  // The checkpoints shared with each tracked project (their keys' models), at most 50 each.
  const tracked = new Map(projects.slice(0, TRACKED_PROJECTS).map((p) => [p.id, [] as string[]]));
  let batch: Permission[] = [];
  let written = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    await store.bulkInsert({ permissions: batch });
    written += batch.length;
    batch = [];
  };
  // One checkpoint at a time, its permissions contiguous: what granting it to its projects in
  // requests of up to 100 writes. Timestamps walk forward over the past year.
  const total = others.length + 1;
  for (let c = 0; c < total; c++) {
    const createdAt = yearAgo + Math.floor((c / total) * 364 * 86_400);
    const name = c === 0 ? hotCheckpoint : (others[c - 1] ?? '');
    const count = c === 0 ? HOT_PERMISSIONS : (counts[c - 1] ?? 0);
    for (let j = 0; j < count; j++) {
      const id = newId.permission();
      if (c === 0) hotIds.push(id);
      // Distinct projects per checkpoint: consecutive projects from an offset per checkpoint.
      const projectId = owner(c * 7 + j);
      batch.push({ id, orgId, checkpoint: name, projectId, createdAt });
      const models = tracked.get(projectId);
      if (models && models.length < 50) models.push(name);
    }
    if (batch.length >= BATCH) await flush();
  }
  await flush();

  const deepCursor = hotIds[HOT_PERMISSIONS - 900];
  if (deepCursor === undefined) throw new Error('the hot checkpoint needs 1,000 permissions');

  const wide = await seedWideProject(store, projects, yearAgo);
  const projectKeys: ProjectKey[] = [];
  for (const [projectId, models] of tracked) {
    projectKeys.push({ secret: await projectKey(store, projectId, yearAgo), projectId, models });
  }
  const auditedProject = projects.at(-1)?.id ?? '';
  await seedAuditEvents(store, projects, auditedProject, size.auditEvents, yearAgo);
  return {
    size,
    adminKey,
    projects: projects.map((p) => p.id),
    hotCheckpoint,
    deepCursor,
    createTargets,
    permissions: written,
    seedSeconds: (performance.now() - started) / 1000,
    projectKeys,
    wideKey: await projectKey(store, wide, yearAgo),
    auditedProject,
    auditEvents: size.auditEvents,
  };
}

/** A service account of `projectId` with a key, written through the Store; the key's secret. */
async function projectKey(store: Store, projectId: string, at: number): Promise<string> {
  const accountId = newId.serviceAccount();
  const minted = mintKey('project');
  await store.createServiceAccount(
    { id: accountId, orgId: DEFAULT_ORG_ID, projectId, name: 'bench', createdAt: at, role: 'member' },
    {
      id: newId.apiKey(),
      orgId: DEFAULT_ORG_ID,
      projectId,
      kind: 'project',
      name: 'bench',
      hash: minted.hash,
      redacted: minted.redacted,
      createdAt: at,
      revokedAt: null,
      serviceAccountId: accountId,
      expiresAt: null,
      lastUsedAt: null,
    },
    { actor: null, now: at },
  );
  return minted.secret;
}

/** A project that may use 1,000 models: checkpoints of other projects, each shared with it. */
async function seedWideProject(store: Store, projects: Project[], at: number): Promise<string> {
  const wide: Project = {
    id: newId.project(),
    orgId: DEFAULT_ORG_ID,
    name: 'wide',
    externalKeyId: null,
    createdAt: at,
    archivedAt: null,
  };
  const names = Array.from({ length: WIDE_MODELS }, (_, i) => checkpointName('wide', i));
  await store.bulkInsert({
    projects: [wide],
    checkpoints: names.map((name, i) => ({
      orgId: DEFAULT_ORG_ID,
      name,
      projectId: projects[i % projects.length]?.id ?? '',
      createdAt: at,
    })),
    permissions: names.map((name) => ({
      id: newId.permission(),
      orgId: DEFAULT_ORG_ID,
      checkpoint: name,
      projectId: wide.id,
      createdAt: at,
    })),
  });
  return wide.id;
}

const AUDIT_TYPES = [
  'checkpoint.permission.created',
  'checkpoint.permission.deleted',
  'project.updated',
  'api_key.created',
] as const;

/**
 * `count` audit events over every project and a few types, as a long history would hold them;
 * the audited project's 50 permission grants are spread through it.
 */
async function seedAuditEvents(
  store: Store,
  projects: Project[],
  audited: string,
  count: number,
  start: number,
): Promise<void> {
  const actor = { keyId: 'key_bench', type: 'user' as const, principalId: 'user-default' };
  const every = Math.max(1, Math.floor(count / AUDITED_EVENTS));
  let batch: AuditEvent[] = [];
  for (let i = 0; i < count; i++) {
    const mine = i % every === 0 && i / every < AUDITED_EVENTS;
    const type = mine ? 'checkpoint.permission.created' : (AUDIT_TYPES[i % AUDIT_TYPES.length] ?? 'project.updated');
    const projectId = mine ? audited : (projects[(i * 31) % (projects.length - 1)]?.id ?? null);
    const resourceId = type.startsWith('checkpoint') ? `cp_${randomBase62(24)}` : (projectId ?? '');
    batch.push({
      id: newId.auditEvent(),
      orgId: DEFAULT_ORG_ID,
      type,
      effectiveAt: start + Math.floor((i / count) * 364 * 86_400),
      projectId,
      projectName: null,
      actor,
      resourceId,
      payload: { id: resourceId },
    });
    if (batch.length >= BATCH) {
      await store.bulkInsert({ auditEvents: batch });
      batch = [];
    }
  }
  if (batch.length > 0) await store.bulkInsert({ auditEvents: batch });
}

export type DeleteTarget = { checkpoint: string; id: string };

/**
 * Permissions for the delete run to remove, on checkpoints of their own (2,000 each, one per
 * project), inserted just before that run; returned in a shuffled order. Each call uses fresh
 * checkpoint names (`tag`), so a second pool never collides with the first.
 */
export async function seedDeletePool(
  store: Store,
  dataset: Dataset,
  count: number,
  tag: string,
): Promise<DeleteTarget[]> {
  const orgId = DEFAULT_ORG_ID;
  const now = systemClock.nowSeconds();
  const perCheckpoint = dataset.projects.length;
  const names = Array.from({ length: Math.ceil(count / perCheckpoint) }, (_, i) => checkpointName(`delete-${tag}`, i));
  await store.bulkInsert({
    checkpoints: names.map((name, i) => ({
      orgId,
      name,
      projectId: dataset.projects[i % perCheckpoint] ?? '',
      createdAt: now,
    })),
  });
  const targets: DeleteTarget[] = [];
  let batch: Permission[] = [];
  for (let i = 0; i < count; i++) {
    const checkpoint = names[Math.floor(i / perCheckpoint)] ?? '';
    const id = newId.permission();
    targets.push({ checkpoint, id });
    batch.push({ id, orgId, checkpoint, projectId: dataset.projects[i % perCheckpoint] ?? '', createdAt: now });
    if (batch.length >= BATCH) {
      await store.bulkInsert({ permissions: batch });
      batch = [];
    }
  }
  if (batch.length > 0) await store.bulkInsert({ permissions: batch });
  // Fisher-Yates, so consecutive deletes land on different checkpoints and index pages.
  for (let i = targets.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [targets[i], targets[j]] = [targets[j] as DeleteTarget, targets[i] as DeleteTarget];
  }
  return targets;
}
