import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance, InjectOptions } from 'fastify';
import pino from 'pino';
import { buildApp } from '../../src/app.ts';
import { hashKey } from '../../src/domain/keys.ts';
import { randomBase62 } from '../../src/ids.ts';
import { LOG_REDACTION, redactSecrets } from '../../src/redact.ts';
import type { Store } from '../../src/storage/store.ts';
import { backends, openTestStore, type TestDatabase } from '../support/backends.ts';
import { rawExchange } from '../support/raw-http.ts';
import { newAdminKey } from '../support/remote.ts';
import { type RunningServer, startServer } from '../support/server.ts';
import { bearer, newOrg, type TestOrg } from '../support/world.ts';

/**
 * CONTRACT §7 and issue 10: no key, key hash or Authorization header in any log line or error
 * message, even when a client misplaces a key in a path, a query string or a body field.
 */

describe('redactSecrets', () => {
  const key = `sk-admin-${randomBase62(48)}`;

  test('a secret keeps at most its first 6 and last 4 characters, wherever it sits', () => {
    for (const text of [
      key,
      `GET /v1/models/${key}`,
      `?api_key=${key}&x=1`,
      `"${key}"`,
      `(${key})`,
      `id \`${key}\`.`,
    ]) {
      const redacted = redactSecrets(text);
      assert.ok(!redacted.includes(key), redacted);
      assert.ok(redacted.includes(`${key.slice(0, 6)}****${key.slice(-4)}`), redacted);
    }
    assert.equal(redactSecrets('sk-proj-abcdefgh'), 'sk-****');
  });

  test('bearer tokens of any shape and 64-hex hashes are dropped; words that merely contain sk- are kept', () => {
    assert.equal(redactSecrets('Authorization: Bearer abcdefghijklmnopqrstuvwxyz'), 'Authorization: Bearer [redacted]');
    assert.equal(redactSecrets(`hash ${hashKey(key)}.`), 'hash [redacted].');
    for (const text of [
      'task-force-12345678',
      'desk-lamp-0123456789',
      'sk-short',
      'Bearer auth (i.e. Authorization: Bearer YOUR_KEY)',
      'req_0123456789abcdef01234567',
    ]) {
      assert.equal(redactSecrets(text), text);
    }
  });

  test('idempotent, and a JSON line stays JSON', () => {
    const line = JSON.stringify({ msg: `a "quoted" ${key} and Bearer ${key}\\ and \n`, url: `/v1/models/${key}` });
    const once = redactSecrets(line);
    assert.equal(redactSecrets(once), once);
    const parsed = JSON.parse(once);
    assert.ok(!JSON.stringify(parsed).includes(key));
  });
});

/** Requests that put `key` where it does not belong. */
function misplacedKeyRequests(key: string, adminKey: string): InjectOptions[] {
  const admin = bearer(adminKey);
  const json = { ...admin, 'content-type': 'application/json' };
  return [
    { method: 'GET', url: `/v1/models/${key}`, headers: admin },
    { method: 'GET', url: `/v1/models/${key}?api_key=${key}` },
    { method: 'GET', url: `/v1/organization/projects/${key}`, headers: admin },
    { method: 'GET', url: `/v1/fine_tuning/checkpoints/${key}/permissions`, headers: admin },
    { method: 'GET', url: `/v1/organization/projects?after=${key}&api_key=${key}`, headers: admin },
    { method: 'GET', url: `/v1/organization/projects?limit=${key}`, headers: admin },
    { method: 'GET', url: '/v1/organization/projects', headers: bearer(key) },
    { method: 'GET', url: '/v1/organization/projects', headers: { authorization: key } },
    { method: 'GET', url: '/v1/organization/projects', headers: { 'x-api-key': key, 'api-key': key } },
    { method: 'POST', url: '/v1/organization/projects', headers: json, payload: JSON.stringify({ [key]: 1 }) },
    { method: 'POST', url: '/v1/organization/projects', headers: json, payload: JSON.stringify({ name: 1, key }) },
    {
      method: 'POST',
      url: '/v1/fine_tuning/checkpoints',
      headers: json,
      payload: JSON.stringify({ fine_tuned_model_checkpoint: key, project_id: key }),
    },
    {
      method: 'POST',
      url: `/v1/fine_tuning/checkpoints/${key}/permissions`,
      headers: json,
      payload: '{"project_ids":[1',
    },
    { method: 'DELETE', url: `/v1/fine_tuning/checkpoints/ft:x/permissions/${key}`, headers: admin },
    { method: 'PATCH', url: `/v1/${key}`, headers: admin },
  ];
}

function assertNoSecret(text: string, secrets: string[], where: string): void {
  for (const secret of secrets) assert.ok(!text.includes(secret), `${where} holds a secret:\n${text}`);
}

for (const backend of await backends()) {
  describe(`no key in logs or error messages, in process (${backend.name})`, () => {
    let ctx: Awaited<ReturnType<typeof openTestStore>>;
    let app: FastifyInstance;
    let org: TestOrg;
    const lines: string[] = [];

    /** An app logging at debug level into `lines`, through the logger options the server uses. */
    const logged = (store: Store) =>
      buildApp({
        store,
        logger: pino({ level: 'debug', ...LOG_REDACTION }, { write: (line: string) => lines.push(line) }),
      }) as unknown as Promise<FastifyInstance>;

    before(async () => {
      ctx = await openTestStore(backend);
      app = await logged(ctx.store);
      org = await newOrg(ctx.store);
    });
    after(async () => {
      await app?.close();
      await ctx?.dispose();
    });

    test('misplaced keys in path, query, body and headers reach neither a log line nor a response body', async () => {
      const misplaced = `sk-proj-${randomBase62(48)}`;
      const secrets = [misplaced, org.adminKey, hashKey(org.adminKey), hashKey(misplaced)];
      lines.length = 0;
      for (const request of misplacedKeyRequests(misplaced, org.adminKey)) {
        const response = await app.inject(request);
        assert.ok(response.statusCode >= 400 && response.statusCode < 500, `${request.url}: ${response.statusCode}`);
        assertNoSecret(response.body, secrets, `${request.method} ${request.url} response`);
        assertNoSecret(JSON.stringify(response.headers), secrets, `${request.method} ${request.url} headers`);
      }
      assert.ok(lines.length >= misplacedKeyRequests(misplaced, org.adminKey).length, 'the access log wrote nothing');
      for (const line of lines) {
        assertNoSecret(line, secrets, 'a log line');
        JSON.parse(line);
      }
      // The access lines name the URLs, redacted.
      assert.ok(lines.some((line) => line.includes(`/v1/models/${misplaced.slice(0, 6)}****${misplaced.slice(-4)}`)));
    });

    test('an unexpected error carrying a key in its message is logged redacted and answered 500 without it', async () => {
      const misplaced = `sk-admin-${randomBase62(48)}`;
      const failing = Object.assign(Object.create(ctx.store), {
        findApiKeyByHash: async () => {
          throw new Error(`boom near ${misplaced} (hash ${hashKey(misplaced)}, Bearer ${misplaced})`);
        },
      }) as Store;
      const broken = await logged(failing);
      try {
        lines.length = 0;
        const response = await broken.inject({
          method: 'GET',
          url: '/v1/organization/projects',
          headers: bearer(misplaced),
        });
        assert.equal(response.statusCode, 500);
        assertNoSecret(response.body, [misplaced], 'the 500');
        assert.ok(
          lines.some((line) => line.includes('boom near')),
          lines.join('\n'),
        );
        for (const line of lines) assertNoSecret(line, [misplaced, hashKey(misplaced)], 'a log line');
      } finally {
        await broken.close();
      }
    });

    test('a key in a request the HTTP parser refuses is neither logged nor echoed', async () => {
      const misplaced = `sk-proj-${randomBase62(48)}`;
      await app.listen({ host: '127.0.0.1', port: 0 });
      const port = (app.server.address() as AddressInfo).port;
      lines.length = 0;
      const exchanges = [
        await rawExchange(
          port,
          `FOO /v1/models/${misplaced} HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer ${misplaced}\r\n\r\n`,
        ),
        await rawExchange(port, `GET /v1/models HTTP/1.1\nAuthorization: Bearer ${misplaced}\n\n`),
        await rawExchange(
          port,
          `GET /v1/models HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer ${misplaced}\r\nX-Big: ${'a'.repeat(17_000)}\r\n\r\n`,
        ),
      ];
      for (const exchange of exchanges) {
        assert.equal(exchange.responses.length, 1, exchange.raw.slice(0, 300));
        assertNoSecret(exchange.raw, [misplaced], 'a refusal');
      }
      assert.ok(
        lines.some((line) => line.includes('client error')),
        lines.join('\n'),
      );
      for (const line of lines) assertNoSecret(line, [misplaced], 'a log line');
    });
  });
}

const [firstBackend] = await backends();

describe('no key in the server process’s output at log level debug', () => {
  const adminKey = newAdminKey();
  let database: TestDatabase | undefined;
  let server: RunningServer | undefined;

  before(async () => {
    database = await firstBackend?.createDatabase();
    if (!database) throw new Error('no backend');
    server = await startServer({ db: database.url, adminKey, args: ['--log-level', 'debug'] });
  });
  after(async () => {
    await server?.kill();
    await database?.drop();
  });

  test('misplaced keys sent over HTTP never reach stdout or stderr', async () => {
    const misplaced = `sk-proj-${randomBase62(48)}`;
    const origin = new URL(server?.baseURL ?? '').origin;
    for (const request of misplacedKeyRequests(misplaced, adminKey)) {
      const headers = Object.fromEntries(Object.entries(request.headers ?? {}).map(([k, v]) => [k, String(v)]));
      const response = await fetch(`${origin}${request.url}`, {
        method: request.method ?? 'GET',
        headers,
        ...(request.payload === undefined ? {} : { body: String(request.payload) }),
      });
      assertNoSecret(await response.text(), [misplaced, adminKey], `${request.method} ${request.url}`);
    }
    await server?.stop();
    const output = server?.output() ?? '';
    assert.match(output, /"msg":"request"/, 'the debug log wrote no access lines');
    assertNoSecret(output, [misplaced, adminKey, hashKey(adminKey), hashKey(misplaced)], 'the server output');
  });
});
