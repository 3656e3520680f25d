import { decide } from '../src/domain/access.ts';
import { AccessService } from '../src/domain/access-service.ts';
import { bootstrapAdminKey, DEFAULT_ORG_ID } from '../src/domain/bootstrap.ts';
import { mintKey } from '../src/domain/keys.ts';
import { newId, systemClock } from '../src/ids.ts';
import { PostgresStore } from '../src/storage/postgres.ts';
import { SqliteStore } from '../src/storage/sqlite.ts';
import type { Checkpoint, Permission, Project, Store } from '../src/storage/store.ts';
import { type BenchDatabase, postgresDatabase, sqliteDatabase } from './databases.ts';
import { benchAdminKey, checkpointName } from './seed.ts';

/**
 * Figures measured inside one process, without HTTP: what the access decision costs (the issue's
 * "decision itself, in-process, p99 < 50 µs at 1M permissions and 10k projects"), and what
 * auditing costs a write (writes with auditing ≥ 0.9× of writes without).
 */

export type Percentiles = { p50: number; p99: number; p999: number; mean: number; count: number };

export type DecisionResult = {
  store: 'sqlite' | 'postgres';
  projects: number;
  permissions: number;
  seedSeconds: number;
  /** decide() alone, on a project's cached access data (µs). */
  decideOnly: Percentiles;
  /** What a request pays with everything cached: authenticate the key, the project's access, decide (µs). */
  cached: Percentiles;
  /** The same for a project seen for the first time (its access read from the store), µs. */
  cold: Percentiles;
};

export type AuditWritesResult = {
  store: 'sqlite' | 'postgres';
  /** Grants per second, with and without audit events, median of the rounds. */
  withAudit: number;
  withoutAudit: number;
  ratio: number;
  rounds: number;
};

function percentiles(samples: number[]): Percentiles {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
  return {
    p50: at(0.5),
    p99: at(0.99),
    p999: at(0.999),
    mean: sorted.reduce((a, b) => a + b, 0) / Math.max(1, sorted.length),
    count: sorted.length,
  };
}

const elapsedUs = (start: bigint) => Number(process.hrtime.bigint() - start) / 1_000;

type Open = (audit: boolean) => Promise<{ store: Store; database: BenchDatabase }>;

function opener(kind: 'sqlite' | 'postgres', postgresUrl: string | undefined, tag: string): Open {
  return async (audit) => {
    const database =
      kind === 'sqlite'
        ? sqliteDatabase(`${tag}-${audit}`)
        : await postgresDatabase(postgresUrl ?? '', `${tag}_${audit}`);
    const store =
      kind === 'sqlite'
        ? SqliteStore.open(database.url, { audit })
        : PostgresStore.open({ url: database.url, poolSize: 10, statementTimeoutMs: 0, tls: 'disable', audit });
    await store.migrate();
    return { store, database };
  };
}

/** `projects` projects, one checkpoint each, each shared with the next `permissions / projects` projects. */
export async function seedWorld(
  store: Store,
  projectCount: number,
  permissionCount: number,
  adminKey = benchAdminKey(),
) {
  const at = systemClock.nowSeconds() - 86_400;
  await bootstrapAdminKey(store, systemClock, adminKey);
  const projects: Project[] = Array.from({ length: projectCount }, (_, i) => ({
    id: newId.project(),
    orgId: DEFAULT_ORG_ID,
    name: `p${i}`,
    externalKeyId: null,
    createdAt: at,
    archivedAt: null,
  }));
  const checkpoints: Checkpoint[] = projects.map((p, i) => ({
    orgId: DEFAULT_ORG_ID,
    name: checkpointName('decision', i),
    projectId: p.id,
    createdAt: at,
  }));
  for (let i = 0; i < projects.length; i += 5_000) {
    await store.bulkInsert({ projects: projects.slice(i, i + 5_000), checkpoints: checkpoints.slice(i, i + 5_000) });
  }
  const perCheckpoint = Math.floor(permissionCount / projectCount);
  let batch: Permission[] = [];
  for (const [c, checkpoint] of checkpoints.entries()) {
    for (let j = 1; j <= perCheckpoint; j++) {
      batch.push({
        id: newId.permission(),
        orgId: DEFAULT_ORG_ID,
        checkpoint: checkpoint.name,
        projectId: projects[(c + j) % projects.length]?.id ?? '',
        createdAt: at,
      });
    }
    if (batch.length >= 20_000) {
      await store.bulkInsert({ permissions: batch });
      batch = [];
    }
  }
  if (batch.length > 0) await store.bulkInsert({ permissions: batch });
  return { projects, checkpoints, perCheckpoint };
}

/** A key for `projectId`, written through the store. */
async function keyFor(store: Store, projectId: string): Promise<string> {
  const accountId = newId.serviceAccount();
  const minted = mintKey('project');
  const now = systemClock.nowSeconds();
  await store.createServiceAccount(
    { id: accountId, orgId: DEFAULT_ORG_ID, projectId, name: 'bench', createdAt: now, role: 'member' },
    {
      id: newId.apiKey(),
      orgId: DEFAULT_ORG_ID,
      projectId,
      kind: 'project',
      name: 'bench',
      hash: minted.hash,
      redacted: minted.redacted,
      createdAt: now,
      revokedAt: null,
      serviceAccountId: accountId,
      expiresAt: null,
      lastUsedAt: null,
    },
    { actor: null, now },
  );
  return `Bearer ${minted.secret}`;
}

export async function measureDecision(
  kind: 'sqlite' | 'postgres',
  postgresUrl: string | undefined,
  size: { projects: number; permissions: number },
  log: (line: string) => void,
): Promise<DecisionResult> {
  const { store, database } = await opener(kind, postgresUrl, 'decision')(true);
  try {
    const started = performance.now();
    const { projects, checkpoints, perCheckpoint } = await seedWorld(store, size.projects, size.permissions);
    await database.analyze();
    const seedSeconds = (performance.now() - started) / 1000;
    log(
      `decision (${kind}): seeded ${size.permissions.toLocaleString('en-US')} permissions in ${seedSeconds.toFixed(1)} s`,
    );
    const access = new AccessService({ store, clock: systemClock });

    // 200 projects with keys; each asked about models it may use (its own and shared ones) and
    // about others it may not, in a shuffled order.
    const asked = projects.filter((_, i) => i % Math.floor(projects.length / 200) === 0).slice(0, 200);
    const keys = new Map<string, string>();
    for (const p of asked) keys.set(p.id, await keyFor(store, p.id));
    const indexOf = new Map(projects.map((p, i) => [p.id, i]));
    const questions = asked.flatMap((p) => {
      const i = indexOf.get(p.id) ?? 0;
      const shared = (k: number) => checkpoints[(i - k + projects.length) % projects.length]?.name ?? '';
      return [
        checkpoints[i]?.name ?? '',
        shared(1),
        shared(perCheckpoint),
        checkpoints[(i + 7) % projects.length]?.name ?? '',
        'ft:unknown:model:x:y',
      ].map((model) => ({ project: p.id, key: keys.get(p.id) ?? '', model }));
    });
    for (let i = questions.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [questions[i], questions[j]] = [
        questions[j] as (typeof questions)[number],
        questions[i] as (typeof questions)[number],
      ];
    }

    const ask = async (q: (typeof questions)[number]) => {
      const caller = await access.authenticate(q.key);
      const project = await access.projectModels(caller, q.project);
      return decide(project, q.model, access.baseModelSet, false);
    };

    // Cold: each project's first question, its access read from the store.
    const cold: number[] = [];
    const seen = new Set<string>();
    for (const q of questions) {
      if (seen.has(q.project)) continue;
      seen.add(q.project);
      const t = process.hrtime.bigint();
      await ask(q);
      cold.push(elapsedUs(t));
    }
    // Warm: every question, several times over.
    for (const q of questions) await ask(q);
    const cached: number[] = [];
    for (let round = 0; round < 20; round++) {
      for (const q of questions) {
        const t = process.hrtime.bigint();
        await ask(q);
        cached.push(elapsedUs(t));
      }
    }
    const decideOnly: number[] = [];
    const models = await Promise.all(
      asked.map(async (p) => access.projectModels(await access.authenticate(keys.get(p.id) ?? ''), p.id)),
    );
    for (let round = 0; round < 20; round++) {
      for (const [i, q] of questions.entries()) {
        const project = models[i % models.length];
        const t = process.hrtime.bigint();
        decide(project, q.model, access.baseModelSet, false);
        decideOnly.push(elapsedUs(t));
      }
    }
    await access.close();
    return {
      store: kind,
      projects: size.projects,
      permissions: size.permissions,
      seedSeconds,
      decideOnly: percentiles(decideOnly),
      cached: percentiles(cached),
      cold: percentiles(cold),
    };
  } finally {
    await store.close();
    await database.drop();
  }
}

/**
 * Grants through the store, 50 at a time, for `seconds`, on a store with audit events and on one
 * without, in alternating rounds (so the machine's drift touches both alike): grants per second.
 */
export async function measureAuditWrites(
  kind: 'sqlite' | 'postgres',
  postgresUrl: string | undefined,
  seconds: number,
  rounds: number,
  log: (line: string) => void,
): Promise<AuditWritesResult> {
  const open = opener(kind, postgresUrl, 'audit_writes');
  const sides = await Promise.all([true, false].map(async (audit) => ({ audit, ...(await open(audit)) })));
  try {
    const worlds = await Promise.all(sides.map((side) => seedWorld(side.store, 2_000, 0)));
    const rates: Record<'true' | 'false', number[]> = { true: [], false: [] };
    const cursors = new Map<number, number>();
    for (let round = 0; round < rounds; round++) {
      for (const [s, side] of sides.entries()) {
        const world = worlds[s] as Awaited<ReturnType<typeof seedWorld>>;
        const deadline = performance.now() + seconds * 1000;
        let done = 0;
        await Promise.all(
          Array.from({ length: 50 }, async () => {
            while (performance.now() < deadline) {
              const i = cursors.get(s) ?? 0;
              cursors.set(s, i + 1);
              const checkpoint = world.checkpoints[i % world.checkpoints.length]?.name ?? '';
              const project =
                world.projects[Math.floor(i / world.checkpoints.length) % world.projects.length]?.id ?? '';
              await side.store.grantPermissions({
                orgId: DEFAULT_ORG_ID,
                checkpoint,
                projectIds: [project],
                newPermissionId: newId.permission,
                now: () => systemClock.nowSeconds(),
                actor: { keyId: 'key_bench', type: 'user', principalId: 'user-default' },
              });
              done++;
            }
          }),
        );
        rates[String(side.audit) as 'true' | 'false'].push(done / seconds);
      }
      log(
        `audit writes (${kind}) round ${round + 1}/${rounds}: ${rates.true.at(-1)?.toFixed(0)} vs ${rates.false.at(-1)?.toFixed(0)} grants/s`,
      );
    }
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)] ?? 0;
    const withAudit = median(rates.true);
    const withoutAudit = median(rates.false);
    return { store: kind, withAudit, withoutAudit, ratio: withAudit / withoutAudit, rounds };
  } finally {
    for (const side of sides) {
      await side.store.close();
      await side.database.drop();
    }
  }
}
