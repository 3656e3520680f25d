import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { bootstrapAdminKey } from '../../src/domain/bootstrap.ts';
import { systemClock } from '../../src/ids.ts';
import { backends, openTestStore } from '../support/backends.ts';
import { assertError, send } from '../support/http.ts';
import { newAdminKey } from '../support/remote.ts';
import { bearer, testApp } from '../support/world.ts';

/**
 * FTSHARE_ADMIN_KEY: at least 32 characters after its prefix, and a new value deletes the key it
 * replaced (an operator rotating a leaked key only changes the setting and restarts).
 */
for (const backend of await backends()) {
  describe(`FTSHARE_ADMIN_KEY bootstrap and rotation (${backend.name})`, () => {
    let ctx: Awaited<ReturnType<typeof openTestStore>>;
    let app: FastifyInstance;
    before(async () => {
      ctx = await openTestStore(backend);
      app = await testApp(ctx.store);
    });
    after(async () => {
      await app.close();
      await ctx.dispose();
    });
    const probe = (key: string) => send(app, { method: 'GET', url: '/v1/organization/projects', headers: bearer(key) });

    test('a key shorter than 32 characters after sk-admin- is refused with the reason', async () => {
      await assert.rejects(bootstrapAdminKey(ctx.store, systemClock, `sk-admin-${'a'.repeat(31)}`), /32 to 200/);
      await assert.rejects(
        bootstrapAdminKey(ctx.store, systemClock, 'not-a-key-at-all-but-long-enough-1234567890'),
        /sk-admin-/,
      );
    });

    test('rotating deletes the key it replaced, from the next request on; the old value cannot come back', async () => {
      const first = newAdminKey();
      const second = newAdminKey();
      assert.deepEqual(await bootstrapAdminKey(ctx.store, systemClock, first), { kind: 'configured', added: true });
      assert.equal((await probe(first)).status, 200); // used, so cached
      assert.deepEqual(await bootstrapAdminKey(ctx.store, systemClock, first), { kind: 'configured', added: false });

      assert.deepEqual(await bootstrapAdminKey(ctx.store, systemClock, second), { kind: 'configured', added: true });
      assertError(await probe(first), 401, { code: 'invalid_api_key' });
      assert.equal((await probe(second)).status, 200);
      await assert.rejects(bootstrapAdminKey(ctx.store, systemClock, first), /deleted/);

      // The rotation is in the audit log: the new key created, the old one deleted, by no API key.
      const log = await send(app, {
        method: 'GET',
        url: '/v1/organization/audit_logs?limit=2',
        headers: bearer(second),
      });
      assert.deepEqual(
        log.body.data.map((e: { type: string; actor: unknown }) => [e.type, e.actor]),
        [
          ['api_key.deleted', null],
          ['api_key.created', null],
        ],
      );
    });

    test('replicas starting together with one FTSHARE_ADMIN_KEY add it once', async () => {
      const key = newAdminKey();
      const outcomes = await Promise.all(
        Array.from({ length: 5 }, () => bootstrapAdminKey(ctx.store, systemClock, key)),
      );
      assert.equal(outcomes.filter((o) => o.kind === 'configured' && o.added).length, 1);
      assert.equal((await probe(key)).status, 200);
    });
  });
}
