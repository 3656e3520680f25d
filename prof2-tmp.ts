import BetterSqlite3 from 'better-sqlite3';
import { createOrganization } from './src/domain/bootstrap.ts';
import { newId, systemClock } from './src/ids.ts';
import { SqliteStore } from './src/storage/sqlite.ts';

const store = SqliteStore.open('/tmp/prof.db');
await store.migrate();
const { orgId } = await createOrganization(store, systemClock, 'o');
const p = newId.project();
await store.createProject(
  { id: p, orgId, name: 'p', externalKeyId: null, createdAt: 1, archivedAt: null },
  { actor: null, now: 1 },
);
const events = Array.from({ length: 1000 }, (_, i) => ({
  id: newId.auditEvent(),
  orgId,
  type: 'checkpoint.permission.created' as const,
  effectiveAt: i,
  projectId: p,
  projectName: null,
  actor: { keyId: 'k', type: 'user' as const, principalId: 'u' },
  resourceId: `cp_${i}`,
  payload: { id: `cp_${i}` },
}));
await store.bulkInsert({ auditEvents: events });
await store.close();
const db = new BetterSqlite3('/tmp/prof.db', { readonly: true });
const sql = `select "event".*, "project"."name" as "project_name" from "audit_events" as "event" left join "projects" as "project" on "project"."id" = "event"."project_id" where event.seq in (select seq from (select "seq" from "audit_events" where "org_id" = ? and "project_id" = ? and "type" = ? order by "seq" desc limit 21) as page) order by "event"."seq" desc`;
const variants: Record<string, string> = {
  in: sql,
  join: `select "event".*, "project"."name" as "project_name" from (select "seq" from "audit_events" where "org_id" = ? and "project_id" = ? and "type" = ? order by "seq" desc limit 21) as page join audit_events as event on event.seq = page.seq left join "projects" as "project" on "project"."id" = "event"."project_id" order by "event"."seq" desc`,
  inner: `select "seq" from "audit_events" where "org_id" = ? and "project_id" = ? and "type" = ? order by "seq" desc limit 21`,
  direct: `select * from "audit_events" where "org_id" = ? and "project_id" = ? and "type" = ? order by "seq" desc limit 21`,
};
for (const [name, q] of Object.entries(variants)) {
  const s2 = db.prepare(q);
  for (let i = 0; i < 500; i++) s2.all(orgId, p, 'checkpoint.permission.created');
  const t0 = performance.now();
  for (let i = 0; i < 5000; i++) s2.all(orgId, p, 'checkpoint.permission.created');
  console.log(
    name,
    (((performance.now() - t0) * 1000) / 5000).toFixed(1),
    db
      .prepare('explain query plan ' + q)
      .all(orgId, p, 'x')
      .map((r) => (r as { detail: string }).detail)
      .join(' | '),
  );
}
const st = db.prepare(sql);
console.log(
  db
    .prepare('explain query plan ' + sql)
    .all(orgId, p, 'checkpoint.permission.created')
    .map((r) => (r as { detail: string }).detail),
);
for (let i = 0; i < 500; i++) st.all(orgId, p, 'checkpoint.permission.created');
const t = performance.now();
for (let i = 0; i < 5000; i++) st.all(orgId, p, 'checkpoint.permission.created');
console.log('µs', (((performance.now() - t) * 1000) / 5000).toFixed(1));
