import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import type { FastifyInstance, InjectOptions } from 'fastify';
import OpenAI from 'openai';
import { buildApp } from '../../src/app.ts';
import { addressKey } from '../../src/http/rate-limit.ts';
import type { EdgeLimits } from '../../src/http/server-options.ts';
import { backends } from '../support/backends.ts';
import { addAdminKey, assertError, type Response, send, useWorld } from '../support/http.ts';
import { bearer, newOrg } from '../support/world.ts';

/**
 * Issue 10: failed authentication is limited per client address (429 past the budget, never for a
 * valid key), and requests per key when configured. Each test builds its own app, so its limiter
 * starts empty; the store is shared per backend.
 */

const BAD_KEY = 'sk-admin-this-key-does-not-exist-0000000000000';

function assertRateLimited(response: Response, retryable: boolean): void {
  assertError(response, 429, { param: null, code: 'rate_limit_exceeded' });
  assert.equal(response.body.error.type, 'requests');
  const seconds = Number(response.headers['retry-after']);
  assert.ok(Number.isInteger(seconds) && seconds >= 1 && seconds <= 60, `retry-after ${seconds}`);
  const ms = Number(response.headers['retry-after-ms']);
  assert.ok(Number.isInteger(ms) && ms >= 1 && ms <= seconds * 1000, `retry-after-ms ${ms}`);
  assert.equal(response.headers['x-should-retry'], retryable ? undefined : 'false');
}

for (const backend of await backends()) {
  describe(`rate limits (${backend.name})`, () => {
    const world = useWorld(backend);

    async function withApp(limits: Partial<EdgeLimits>, work: (app: FastifyInstance) => Promise<void>) {
      const app = (await buildApp({ store: world.store, limits })) as unknown as FastifyInstance;
      try {
        await work(app);
      } finally {
        await app.close();
      }
    }

    const list = (
      headers: Record<string, string>,
      remoteAddress = '203.0.113.10',
      extra: Partial<InjectOptions> = {},
    ) => ({ method: 'GET', url: '/v1/organization/projects', headers, remoteAddress, ...extra }) as InjectOptions;

    test('past the failure budget a failing key answers 429; a valid key from the same address never does', async () => {
      const org = await newOrg(world.store);
      await withApp({ authFailureLimit: 5, authFailureWindowMs: 60_000 }, async (app) => {
        const failing = [
          bearer(BAD_KEY),
          {},
          { authorization: 'Bearer ' },
          bearer(`${org.adminKey}x`),
          bearer(BAD_KEY),
        ];
        for (const headers of failing) assertError(await send(app, list(headers)), 401);
        for (const headers of failing) assertRateLimited(await send(app, list(headers)), false);
        // The valid key is checked first: someone else's failures never refuse it.
        for (let i = 0; i < 3; i++) {
          const ok = await send(app, list(bearer(org.adminKey)));
          assert.equal(ok.status, 200, JSON.stringify(ok.body));
        }
        // Another address has a budget of its own.
        assertError(await send(app, list(bearer(BAD_KEY), '203.0.113.11')), 401);
      });
    });

    test('IPv6 clients count per /64; an IPv4-mapped address counts as its IPv4', async () => {
      await withApp({ authFailureLimit: 2, authFailureWindowMs: 60_000 }, async (app) => {
        assertError(await send(app, list(bearer(BAD_KEY), '2001:db8:1:2::1')), 401);
        assertError(await send(app, list(bearer(BAD_KEY), '2001:db8:1:2:ffff::9')), 401);
        assertRateLimited(await send(app, list(bearer(BAD_KEY), '2001:db8:1:2:abcd:1:2:3')), false);
        assertError(await send(app, list(bearer(BAD_KEY), '2001:db8:1:3::1')), 401);
        assertError(await send(app, list(bearer(BAD_KEY), '::ffff:198.51.100.1')), 401);
        assertError(await send(app, list(bearer(BAD_KEY), '198.51.100.1')), 401);
        assertRateLimited(await send(app, list(bearer(BAD_KEY), '::ffff:198.51.100.1')), false);
      });
    });

    test('behind a trusted proxy the client is the forwarded address', async () => {
      await withApp({ authFailureLimit: 1, authFailureWindowMs: 60_000, trustProxy: '127.0.0.1' }, async (app) => {
        const via = (client: string) =>
          list({ ...bearer(BAD_KEY), 'x-forwarded-for': client }, '127.0.0.1') satisfies InjectOptions;
        assertError(await send(app, via('198.51.100.20')), 401);
        assertRateLimited(await send(app, via('198.51.100.20')), false);
        assertError(await send(app, via('198.51.100.21')), 401);
      });
    });

    test('without a limit configured, failures stay 401', async () => {
      await withApp({ authFailureLimit: 0 }, async (app) => {
        for (let i = 0; i < 30; i++) assertError(await send(app, list(bearer(BAD_KEY))), 401);
      });
    });

    test('--key-rate-limit: past it a key answers 429 (retryable); other keys are not affected', async () => {
      const org = await newOrg(world.store);
      const { secret: second } = await addAdminKey(world.app, org.adminKey);
      await withApp({ keyRateLimit: 3, keyRateWindowMs: 60_000 }, async (app) => {
        for (let i = 0; i < 3; i++) assert.equal((await send(app, list(bearer(org.adminKey)))).status, 200);
        assertRateLimited(await send(app, list(bearer(org.adminKey))), true);
        assertRateLimited(await send(app, list(bearer(org.adminKey), '198.51.100.99')), true);
        assert.equal((await send(app, list(bearer(second)))).status, 200);
        // Unauthenticated requests are not counted against any key.
        assertError(await send(app, list(bearer(BAD_KEY))), 401);
      });
    });

    test('the official SDK raises RateLimitError, and retries a key limit after retry-after', async () => {
      const org = await newOrg(world.store);
      await withApp(
        { authFailureLimit: 1, authFailureWindowMs: 60_000, keyRateLimit: 1, keyRateWindowMs: 500 },
        async (app) => {
          await app.listen({ host: '127.0.0.1', port: 0 });
          const baseURL = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/v1`;
          const bad = new OpenAI({ apiKey: 'unused', adminAPIKey: BAD_KEY, baseURL, maxRetries: 3 });
          await assert.rejects(bad.admin.organization.projects.list(), OpenAI.AuthenticationError);
          // x-should-retry: false — the SDK does not wait to retry a key that fails.
          const limited = await bad.admin.organization.projects.list().catch((error: unknown) => error);
          assert.ok(limited instanceof OpenAI.RateLimitError, String(limited));
          assert.equal(limited.status, 429);

          const good = new OpenAI({ apiKey: 'unused', adminAPIKey: org.adminKey, baseURL, maxRetries: 2 });
          await good.admin.organization.projects.list();
          // Over the per-key limit: the SDK waits retry-after-ms (within the 0.5 s window) and gets through.
          const page = await good.admin.organization.projects.list();
          assert.deepEqual(page.data, []);
        },
      );
    });
  });
}

describe('addressKey', () => {
  test('IPv4 as it is, IPv6 by /64 in canonical form, IPv4-mapped as IPv4, zones dropped', () => {
    assert.equal(addressKey('198.51.100.7'), '198.51.100.7');
    assert.equal(addressKey('2001:db8::1'), '2001:db8:0:0::/64');
    assert.equal(addressKey('2001:0db8:0000:0000:ffff::1'), '2001:db8:0:0::/64');
    assert.equal(addressKey('2001:db8:1:2:3:4:5:6'), '2001:db8:1:2::/64');
    assert.equal(addressKey('::1'), '0:0:0:0::/64');
    assert.equal(addressKey('fe80::1%eth0'), 'fe80:0:0:0::/64');
    assert.equal(addressKey('::ffff:198.51.100.7'), '198.51.100.7');
    assert.equal(addressKey('::FFFF:198.51.100.7'), '198.51.100.7');
  });
});
