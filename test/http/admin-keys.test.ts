import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { backends } from '../support/backends.ts';
import { addAdminKey, assertError, assertListEnvelope, pinnedClock, send, useWorld } from '../support/http.ts';
import { adminGet, assertNoSecret, redacted, withApp } from '../support/models.ts';
import { bearer, newOrg, type TestOrg } from '../support/world.ts';

const KEYS = '/v1/organization/admin_api_keys';
const ADMIN_SECRET = /^sk-admin-[0-9A-Za-z]{48}$/;
const KEY_ID = /^key_[0-9A-Za-z]{16}$/;
const KEY_FIELDS = ['created_at', 'expires_at', 'id', 'last_used_at', 'name', 'object', 'owner', 'redacted_value'];

async function listKeys(app: FastifyInstance, key: string, query = '') {
  const body = await adminGet(app, key, `${KEYS}${query}`);
  assertListEnvelope(body);
  return body;
}

const ids = (body: { data: { id: string }[] }) => body.data.map((k) => k.id);

/** The id of the organization's first admin key (the one `newOrg` made). */
async function firstKeyId(app: FastifyInstance, org: TestOrg): Promise<string> {
  const body = await listKeys(app, org.adminKey, '?limit=1');
  return body.data[0].id;
}

/** Whether `key` is admitted (200 on an admin route) right now. */
async function works(app: FastifyInstance, key: string): Promise<boolean> {
  const response = await send(app, { method: 'GET', url: `${KEYS}?limit=1`, headers: bearer(key) });
  if (response.status === 200) return true;
  assertError(response, 401, { code: 'invalid_api_key', param: null });
  assert.ok(!response.body.error.message.includes(key), 'the 401 does not echo the key');
  return false;
}

/** CONTRACT §5 and §5a: OpenAI's admin API keys. */
for (const backend of await backends()) {
  describe(`admin API keys (${backend.name})`, () => {
    const world = useWorld(backend);

    test('create answers the secret once; retrieve and list show only its redacted form', async () => {
      const clock = pinnedClock(1_700_100_000);
      await withApp(world.store, { clock }, async (app) => {
        const org = await newOrg(world.store, clock);
        clock.now += 10;
        const created = await send(app, {
          method: 'POST',
          url: KEYS,
          headers: bearer(org.adminKey),
          payload: { name: 'deploy bot' },
        });
        assert.equal(created.status, 200, JSON.stringify(created.body));
        const { id, value } = created.body;
        assert.match(value, ADMIN_SECRET);
        assert.match(id, KEY_ID);
        const expected = {
          object: 'organization.admin_api_key',
          id,
          name: 'deploy bot',
          redacted_value: redacted(value),
          created_at: 1_700_100_010,
          expires_at: null,
          last_used_at: null,
          owner: {
            type: 'user',
            object: 'organization.user',
            id: `user-${org.orgId.replace(/^org-/, '')}`,
            name: 'Organization owner',
            created_at: 1_700_100_000,
            role: 'owner',
          },
        };
        assert.deepEqual(created.body, { ...expected, value });
        assert.deepEqual(Object.keys(created.body).sort(), [...KEY_FIELDS, 'value'].sort());

        const retrieved = await adminGet(app, org.adminKey, `${KEYS}/${id}`);
        assert.deepEqual(retrieved, expected);
        assert.deepEqual(Object.keys(retrieved).sort(), KEY_FIELDS);
        const listed = await listKeys(app, org.adminKey);
        assert.deepEqual(listed.data[1], expected);
        assert.equal(listed.data.length, 2);
        assertNoSecret([retrieved, listed], [value, org.adminKey]);

        // The new key is an admin key of the same organization.
        assert.deepEqual(ids(await listKeys(app, value)), ids(listed));
        // Two creates never mint the same secret or id.
        const again = await addAdminKey(app, org.adminKey, { name: 'deploy bot' });
        assert.notEqual(again.secret, value);
        assert.notEqual(again.id, id);
      });
    });

    test('expires_in_seconds sets expires_at; the key works until then and answers 401 from then on', async () => {
      const clock = pinnedClock(1_700_200_000);
      await withApp(world.store, { clock }, async (app) => {
        const org = await newOrg(world.store, clock);
        const short = await addAdminKey(app, org.adminKey, { name: 'short', expires_in_seconds: 60 });
        const forever = await addAdminKey(app, org.adminKey, { name: 'forever', expires_in_seconds: null });
        const longest = await addAdminKey(app, org.adminKey, { name: 'a year', expires_in_seconds: 31_536_000 });
        assert.equal((await adminGet(app, org.adminKey, `${KEYS}/${short.id}`)).expires_at, 1_700_200_060);
        assert.equal((await adminGet(app, org.adminKey, `${KEYS}/${forever.id}`)).expires_at, null);
        assert.equal((await adminGet(app, org.adminKey, `${KEYS}/${longest.id}`)).expires_at, 1_731_736_000);

        // Used (and so cached) just before it expires: the clock at request time decides.
        clock.now = 1_700_200_059;
        assert.equal(await works(app, short.secret), true);
        clock.now = 1_700_200_060;
        assert.equal(await works(app, short.secret), false, 'expired at expires_at exactly');
        clock.now = 1_700_300_000;
        assert.equal(await works(app, short.secret), false);
        assert.equal(await works(app, forever.secret), true);
        assert.equal(await works(app, longest.secret), true);
        // Refused on every kind of route, not only admin ones.
        const models = await send(app, { method: 'GET', url: '/v1/models', headers: bearer(short.secret) });
        assertError(models, 401, { code: 'invalid_api_key' });

        // An expired key stays listed (and retrievable), with its expiry.
        const listed = await listKeys(app, org.adminKey);
        const entry = listed.data.find((k: { id: string }) => k.id === short.id);
        assert.equal(entry?.expires_at, 1_700_200_060);
        assert.equal((await adminGet(app, org.adminKey, `${KEYS}/${short.id}`)).name, 'short');

        clock.now = 1_731_736_000;
        assert.equal(await works(app, longest.secret), false);
      });
    });

    test('list: oldest first by default, desc, limit 1–100 default 20, exact has_more, after', async () => {
      const clock = pinnedClock(1_700_300_000);
      await withApp(world.store, { clock }, async (app) => {
        const org = await newOrg(world.store, clock);
        const made = [await firstKeyId(app, org)];
        for (let i = 0; i < 21; i++) {
          clock.now += 1;
          made.push((await addAdminKey(app, org.adminKey, { name: `k${i}` })).id);
        }
        const first = await listKeys(app, org.adminKey);
        assert.deepEqual([ids(first), first.has_more], [made.slice(0, 20), true]);
        const rest = await listKeys(app, org.adminKey, `?after=${first.last_id}`);
        assert.deepEqual([ids(rest), rest.has_more], [made.slice(20), false]);
        const exact = await listKeys(app, org.adminKey, '?limit=22');
        assert.deepEqual([ids(exact), exact.has_more], [made, false]);
        assert.deepEqual(ids(await listKeys(app, org.adminKey, '?limit=100&order=asc')), made);

        const reversed = [...made].reverse();
        const desc = await listKeys(app, org.adminKey, '?order=desc&limit=5');
        assert.deepEqual([ids(desc), desc.has_more], [reversed.slice(0, 5), true]);
        const descNext = await listKeys(app, org.adminKey, `?order=desc&limit=5&after=${desc.last_id}`);
        assert.deepEqual(ids(descNext), reversed.slice(5, 10));
        const one = await listKeys(app, org.adminKey, `?limit=1&after=${made[20]}`);
        assert.deepEqual([ids(one), one.has_more], [[made[21]], false]);

        // Keys made in one second list in one total order, both ways, with the id breaking ties.
        const tie = await newOrg(world.store, clock);
        const tied = [await firstKeyId(app, tie)];
        for (let i = 0; i < 5; i++) tied.push((await addAdminKey(app, tie.adminKey, { name: `t${i}` })).id);
        const asc = ids(await listKeys(app, tie.adminKey, '?limit=100'));
        assert.deepEqual([...asc].sort(), [...tied].sort());
        assert.deepEqual(ids(await listKeys(app, tie.adminKey, '?order=desc')), [...asc].reverse());
        const paged: string[] = [];
        let after: string | null = null;
        for (;;) {
          const page = await listKeys(app, tie.adminKey, `?limit=2${after ? `&after=${after}` : ''}`);
          paged.push(...ids(page));
          if (!page.has_more) break;
          after = page.last_id;
        }
        assert.deepEqual(paged, asc);
        // Another organization's keys never show.
        assert.ok(!asc.some((id) => made.includes(id)));
      });
    });

    test('bad bodies and queries answer 400 naming the field, and create nothing', async () => {
      const { app, store } = world;
      const org = await newOrg(store);
      const other = await newOrg(store);
      const otherKey = await firstKeyId(app, other);
      const headers = bearer(org.adminKey);
      const deleted = await addAdminKey(app, org.adminKey);
      assert.equal(
        (await send(app, { method: 'DELETE', url: `${KEYS}/${deleted.id}`, headers })).status,
        200,
        'deleting the second key',
      );
      const before = await listKeys(app, org.adminKey, '?limit=100');

      const bodies: [unknown, string | null, string?][] = [
        [{}, 'name', 'missing_required_parameter'],
        [{ expires_in_seconds: 60 }, 'name', 'missing_required_parameter'],
        [{ name: '' }, 'name'],
        [{ name: 'x'.repeat(257) }, 'name'],
        [{ name: 7 }, 'name'],
        [{ name: null }, 'name'],
        [{ name: 'ok', scopes: ['api.read'] }, 'scopes', 'unknown_parameter'],
        [{ name: 'ok', expires_in_seconds: 0 }, 'expires_in_seconds'],
        [{ name: 'ok', expires_in_seconds: -1 }, 'expires_in_seconds'],
        [{ name: 'ok', expires_in_seconds: 31_536_001 }, 'expires_in_seconds'],
        [{ name: 'ok', expires_in_seconds: 1.5 }, 'expires_in_seconds'],
        [{ name: 'ok', expires_in_seconds: '60' }, 'expires_in_seconds'],
        [{ name: 'ok', expires_in_seconds: true }, 'expires_in_seconds'],
        [['ok'], null],
        ['ok', null],
        [null, null],
      ];
      for (const [payload, param, code] of bodies) {
        const response = await send(app, {
          method: 'POST',
          url: KEYS,
          headers: { ...headers, 'content-type': 'application/json' },
          payload: JSON.stringify(payload),
        });
        assertError(response, 400, { param, ...(code ? { code } : {}) });
      }
      const queries: [string, string][] = [
        ['limit=0', 'limit'],
        ['limit=101', 'limit'],
        ['limit=abc', 'limit'],
        ['limit=1.5', 'limit'],
        ['order=ascending', 'order'],
        ['order=', 'order'],
        ['after=key_doesnotexist0000', 'after'],
        [`after=${otherKey}`, 'after'],
        [`after=${deleted.id}`, 'after'],
      ];
      for (const [query, param] of queries) {
        assertError(await send(app, { method: 'GET', url: `${KEYS}?${query}`, headers }), 400, { param });
      }
      assert.deepEqual(await listKeys(app, org.adminKey, '?limit=100'), before);
    });

    test('unknown, deleted and foreign key ids answer 404 on retrieve and delete', async () => {
      const { app, store } = world;
      const org = await newOrg(store);
      const other = await newOrg(store);
      const foreign = await firstKeyId(app, other);
      const extra = await addAdminKey(app, org.adminKey);
      const headers = bearer(org.adminKey);
      const gone = await send(app, { method: 'DELETE', url: `${KEYS}/${extra.id}`, headers });
      assert.deepEqual(gone.body, { id: extra.id, object: 'organization.admin_api_key.deleted', deleted: true });
      await addAdminKey(app, org.adminKey); // so that no delete below is refused as the last one
      for (const id of ['key_0000000000000000', extra.id, foreign]) {
        for (const method of ['GET', 'DELETE'] as const) {
          const response = await send(app, { method, url: `${KEYS}/${id}`, headers });
          assertError(response, 404, { code: 'not_found', param: null });
          assert.ok(response.body.error.message.includes(id));
        }
      }
      assert.equal(await works(app, other.adminKey), true, 'the other organization’s key was not deleted');
      const tooLong = await send(app, { method: 'GET', url: `${KEYS}/${'k'.repeat(129)}`, headers });
      assertError(tooLong, 400, { param: 'key_id' });
    });

    test('a deleted key leaves the list and answers 401 on its next request, even its own', async () => {
      const { app, store } = world;
      const org = await newOrg(store);
      const second = await addAdminKey(app, org.adminKey);
      const third = await addAdminKey(app, org.adminKey);
      // Each used twice: a key's first use is re-checked on its second; from then on it is trusted from memory.
      for (let i = 0; i < 2; i++) {
        assert.equal(await works(app, second.secret), true);
        assert.equal(await works(app, third.secret), true);
      }

      const byOther = await send(app, { method: 'DELETE', url: `${KEYS}/${second.id}`, headers: bearer(third.secret) });
      assert.equal(byOther.status, 200);
      assert.equal(await works(app, second.secret), false);
      assert.ok(!ids(await listKeys(app, org.adminKey)).includes(second.id));

      // A key may delete itself while another active key remains; its next request is refused.
      const itself = await send(app, { method: 'DELETE', url: `${KEYS}/${third.id}`, headers: bearer(third.secret) });
      assert.deepEqual(itself.body, { id: third.id, object: 'organization.admin_api_key.deleted', deleted: true });
      assert.equal(await works(app, third.secret), false);
      assert.equal(await works(app, org.adminKey), true);
      assert.deepEqual(ids(await listKeys(app, org.adminKey)), [await firstKeyId(app, org)]);
    });

    test('the last active admin key cannot be deleted; expired keys do not count as active', async () => {
      const clock = pinnedClock(1_700_400_000);
      await withApp(world.store, { clock }, async (app) => {
        const org = await newOrg(world.store, clock);
        const first = await firstKeyId(app, org);
        const headers = bearer(org.adminKey);
        const lastActive = (response: Awaited<ReturnType<typeof send>>) =>
          assertError(response, 400, { code: 'last_active_admin_key', param: 'key_id' });

        lastActive(await send(app, { method: 'DELETE', url: `${KEYS}/${first}`, headers }));
        assert.equal(await works(app, org.adminKey), true, 'a refused delete deletes nothing');

        const expiring = await addAdminKey(app, org.adminKey, { name: 'expiring', expires_in_seconds: 100 });
        // While it works it counts: the first key may go, and then the expiring one is the last.
        const deletedFirst = await send(app, { method: 'DELETE', url: `${KEYS}/${first}`, headers });
        assert.equal(deletedFirst.status, 200, JSON.stringify(deletedFirst.body));
        const expiringHeaders = bearer(expiring.secret);
        lastActive(await send(app, { method: 'DELETE', url: `${KEYS}/${expiring.id}`, headers: expiringHeaders }));

        // Another key, then the first expires: the new one is the last ACTIVE key, though two are listed.
        const fresh = await addAdminKey(app, expiring.secret, { name: 'fresh' });
        clock.now += 100;
        assert.equal(await works(app, expiring.secret), false);
        assert.deepEqual(ids(await listKeys(app, fresh.secret)).sort(), [expiring.id, fresh.id].sort());
        lastActive(await send(app, { method: 'DELETE', url: `${KEYS}/${fresh.id}`, headers: bearer(fresh.secret) }));
        // The expired key itself may be deleted.
        const deletedExpired = await send(app, {
          method: 'DELETE',
          url: `${KEYS}/${expiring.id}`,
          headers: bearer(fresh.secret),
        });
        assert.equal(deletedExpired.status, 200);
        assert.deepEqual(ids(await listKeys(app, fresh.secret)), [fresh.id]);
        assert.equal(await works(app, fresh.secret), true);
      });
    });
  });
}
