import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.ts';
import { type Backend, backends, openTestStore, postgresOnly } from '../support/backends.ts';
import { grant, pinnedClock, send } from '../support/http.ts';
import { bearer, checkpointName, createProject, newOrg, registerCheckpoint, type TestOrg } from '../support/world.ts';

/**
 * Audit log paging over generated filters: whatever the filters, limit and cursors, following
 * `after` (or `before`) yields exactly the filtered part of the whole log, in order, each event
 * once, and `has_more` is exact. The reference is the unfiltered log, filtered here.
 */

type Event = {
  id: string;
  type: string;
  effective_at: number;
  project?: { id: string };
  actor: { api_key: { id: string } } | null;
  [k: string]: unknown;
};

/** Fixed in CI (replayable), random elsewhere; printed on failure either way. */
const SEED = process.env.CI === 'true' ? 20_261_203 : Date.now() % 2 ** 31;

const TYPES = [
  'project.created',
  'checkpoint.registered',
  'checkpoint.permission.created',
  'checkpoint.permission.deleted',
  'project.archived',
];

async function page(app: FastifyInstance, key: string, query: string) {
  const response = await send(app, {
    method: 'GET',
    url: `/v1/organization/audit_logs?${query}`,
    headers: bearer(key),
  });
  assert.equal(response.status, 200, JSON.stringify(response.body));
  return response.body as { data: Event[]; has_more: boolean; first_id: string | null; last_id: string | null };
}

/** A small history: projects, checkpoints, grants, revokes, archives, at moving times, by two keys. */
async function history(app: FastifyInstance, org: TestOrg, clock: { now: number }) {
  const projects: string[] = [];
  for (let i = 0; i < 4; i++) projects.push(await createProject(app, org.adminKey, `p${i}`));
  const checkpoints = [checkpointName(), checkpointName()];
  for (const [i, c] of checkpoints.entries()) await registerCheckpoint(app, org.adminKey, c, projects[i] as string);
  clock.now += 5;
  const granted = (await grant(app, org.adminKey, checkpoints[0] as string, projects)).data as { id: string }[];
  clock.now += 5;
  await grant(app, org.adminKey, checkpoints[1] as string, projects.slice(1));
  for (const permission of granted.slice(0, 2)) {
    clock.now += 1;
    await send(app, {
      method: 'DELETE',
      url: `/v1/fine_tuning/checkpoints/${checkpoints[0]}/permissions/${permission.id}`,
      headers: bearer(org.adminKey),
    });
  }
  await send(app, {
    method: 'POST',
    url: `/v1/organization/projects/${projects[3]}/archive`,
    headers: bearer(org.adminKey),
  });
  return { projects, granted: granted.map((p) => p.id) };
}

async function propertyOn(backend: Backend) {
  describe(`audit log paging over generated filters (${backend.name})`, () => {
    const clock = pinnedClock();
    let ctx: Awaited<ReturnType<typeof openTestStore>>;
    let app: FastifyInstance;
    let org: TestOrg;
    let all: Event[];
    let ids: { projects: string[]; granted: string[] };
    before(async () => {
      ctx = await openTestStore(backend);
      app = (await buildApp({ store: ctx.store, clock })) as unknown as FastifyInstance;
      org = await newOrg(ctx.store, clock);
      ids = await history(app, org, clock);
      all = (await page(app, org.adminKey, 'limit=100')).data;
    });
    after(async () => {
      await app.close();
      await ctx.dispose();
    });

    test('following the cursors yields exactly the filtered log, each event once, has_more exact', async () => {
      const times = [...new Set(all.map((e) => e.effective_at))];
      const filters = fc.record(
        {
          types: fc.subarray(TYPES, { minLength: 1 }),
          projects: fc.subarray(ids.projects, { minLength: 1 }),
          resources: fc.subarray(ids.granted, { minLength: 1 }),
          gte: fc.constantFrom(...times),
          lt: fc.constantFrom(...times.map((t) => t + 1)),
        },
        { requiredKeys: [] },
      );
      await fc.assert(
        fc.asyncProperty(filters, fc.integer({ min: 1, max: 7 }), fc.boolean(), async (f, limit, backwards) => {
          const query = [
            ...(f.types ?? []).map((t) => `event_types[]=${t}`),
            ...(f.projects ?? []).map((p) => `project_ids[]=${p}`),
            ...(f.resources ?? []).map((r) => `resource_ids[]=${r}`),
            ...(f.gte === undefined ? [] : [`effective_at[gte]=${f.gte}`]),
            ...(f.lt === undefined ? [] : [`effective_at[lt]=${f.lt}`]),
          ].join('&');
          const expected = all
            .filter(
              (e) =>
                (!f.types || f.types.includes(e.type)) &&
                (!f.projects || f.projects.includes(e.project?.id ?? '')) &&
                (!f.resources || f.resources.includes((e[e.type] as { id: string }).id)) &&
                (f.gte === undefined || e.effective_at >= f.gte) &&
                (f.lt === undefined || e.effective_at < f.lt),
            )
            .map((e) => e.id);
          // Forward from the newest with `after`…
          const seen: string[] = [];
          let cursor = '';
          for (let guard = 0; ; guard++) {
            assert.ok(guard < 100, 'paging does not end');
            const body = await page(app, org.adminKey, `limit=${limit}&${query}${cursor}`);
            seen.push(...body.data.map((e) => e.id));
            assert.equal(body.has_more, seen.length < expected.length, 'has_more is exact');
            if (!body.has_more) break;
            cursor = `&after=${body.last_id}`;
          }
          assert.deepEqual(seen, expected);
          if (!backwards || expected.length === 0) return;
          // …and back toward the newest with `before`, from the oldest.
          const oldest = expected.at(-1) as string;
          const back: string[] = [];
          let before = oldest;
          for (let guard = 0; ; guard++) {
            assert.ok(guard < 100, 'paging back does not end');
            const body = await page(app, org.adminKey, `limit=${limit}&${query}&before=${before}`);
            back.unshift(...body.data.map((e) => e.id));
            if (!body.has_more) break;
            before = body.first_id as string;
          }
          assert.deepEqual([...back, oldest], expected);
        }),
        { seed: SEED, numRuns: 60 },
      );
    });
  });
}

for (const backend of await backends()) await propertyOn(backend);

/**
 * Two replicas (two stores on one PostgreSQL database, as two processes would be), one with its
 * clock an hour fast: the log lists events in the order they were written, never by the clocks,
 * and concurrent writes on both leave every change with its event.
 */
const postgres = await postgresOnly('the two-replica audit checks');
if (postgres) {
  describe('audit log across replicas with skewed clocks (postgres)', () => {
    let database: Awaited<ReturnType<typeof postgres.createDatabase>>;
    const apps: FastifyInstance[] = [];
    const stores: Awaited<ReturnType<typeof openTestStore>>[] = [];
    before(async () => {
      database = await postgres.createDatabase();
      const { openStore } = await import('../../src/storage/open.ts');
      for (const offset of [0, 3_600]) {
        const store = await openStore({ db: database.url, poolSize: 5, statementTimeoutMs: 10_000, tls: 'disable' });
        stores.push({ store, url: database.url, dispose: () => store.close() });
        const clock = { nowSeconds: () => Math.floor(Date.now() / 1000) + offset };
        apps.push((await buildApp({ store, clock })) as unknown as FastifyInstance);
      }
    });
    after(async () => {
      for (const app of apps) await app.close();
      for (const store of stores) await store.dispose();
      await database?.drop();
    });

    test('events list in write order whatever each replica’s clock says', async () => {
      const [fast, slow] = apps as [FastifyInstance, FastifyInstance];
      const org = await newOrg(stores[0]?.store as never);
      const made: string[] = [];
      for (let i = 0; i < 6; i++) made.push(await createProject(i % 2 === 0 ? slow : fast, org.adminKey, `p${i}`));
      const listed = (await page(slow, org.adminKey, 'event_types[]=project.created&limit=100')).data;
      assert.deepEqual(
        listed.map((e) => e.project?.id),
        [...made].reverse(),
      );
      const times = listed.map((e) => e.effective_at);
      assert.notDeepEqual(
        times,
        [...times].sort((a, b) => b - a),
        'the clocks disagree, the order does not',
      );
    });

    test('concurrent grants on both replicas: every permission has its event, and no event lacks one', async () => {
      const [a, b] = apps as [FastifyInstance, FastifyInstance];
      const org = await newOrg(stores[0]?.store as never);
      const owner = await createProject(a, org.adminKey, 'owner');
      const projects: string[] = [];
      for (let i = 0; i < 20; i++) projects.push(await createProject(b, org.adminKey, `g${i}`));
      const checkpoint = checkpointName();
      await registerCheckpoint(a, org.adminKey, checkpoint, owner);
      // Every project granted twice, once through each replica, at the same time.
      await Promise.all(projects.flatMap((p) => [a, b].map((app) => grant(app, org.adminKey, checkpoint, [p]))));
      const created = (await page(a, org.adminKey, 'event_types[]=checkpoint.permission.created&limit=100')).data;
      const listed = await send(b, {
        method: 'GET',
        url: `/v1/fine_tuning/checkpoints/${checkpoint}/permissions?limit=100`,
        headers: bearer(org.adminKey),
      });
      assert.deepEqual(
        created.map((e) => (e[e.type] as { id: string }).id).sort(),
        listed.body.data.map((p: { id: string }) => p.id).sort(),
        'one permission and one event per project, never two',
      );
      assert.equal(created.length, 20);
    });
  });
}
