import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { backends, openTestStore } from '../support/backends.ts';
import { bearer, call, newOrg, testApp } from '../support/world.ts';

for (const backend of await backends()) {
  describe(`smoke (${backend.name})`, () => {
    let ctx: Awaited<ReturnType<typeof openTestStore>>;
    before(async () => {
      ctx = await openTestStore(backend);
    });
    after(async () => ctx.dispose());

    test('creates a project', async () => {
      const org = await newOrg(ctx.store);
      const app = await testApp(ctx.store);
      const r = await call(app, {
        method: 'POST',
        url: '/v1/organization/projects',
        headers: bearer(org.adminKey),
        payload: { name: 'x' },
      });
      assert.equal(r.status, 200);
      assert.equal(r.body.object, 'organization.project');
    });
  });
}
