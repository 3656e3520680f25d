import { buildApp } from './src/app.ts';
import { createOrganization } from './src/domain/bootstrap.ts';
import { newId, systemClock } from './src/ids.ts';
import { SqliteStore } from './src/storage/sqlite.ts';

const store = SqliteStore.open('/tmp/prof.db');
await store.migrate();
const { orgId, secret } = await createOrganization(store, systemClock, 'o');
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
  payload: { id: `cp_${i}`, data: { project_id: p, fine_tuned_model_checkpoint: 'ft:x' } },
}));
await store.bulkInsert({ auditEvents: events });
const app = await buildApp({ store });
const url = `/v1/organization/audit_logs?project_ids[]=${p}&event_types[]=checkpoint.permission.created&limit=20`;
const headers = { authorization: `Bearer ${secret}` };
for (let i = 0; i < 300; i++) await app.inject({ method: 'GET', url, headers });
let t = performance.now();
for (let i = 0; i < 3000; i++) await app.inject({ method: 'GET', url, headers });
console.log('request µs', (((performance.now() - t) * 1000) / 2000).toFixed(0));
t = performance.now();
for (let i = 0; i < 2000; i++)
  await store.listAuditEvents(orgId, { limit: 20, projectIds: [p], types: ['checkpoint.permission.created'] });
console.log('store µs', (((performance.now() - t) * 1000) / 2000).toFixed(0));
const murl = '/v1/organization/projects?limit=20';
t = performance.now();
for (let i = 0; i < 2000; i++) await app.inject({ method: 'GET', url: murl, headers });
console.log('projects request µs', (((performance.now() - t) * 1000) / 2000).toFixed(0));
await app.close();
await store.close();
