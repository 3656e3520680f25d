import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Store } from '../../src/storage/store.ts';
import { backends } from '../support/backends.ts';
import { assertError, send, useWorld } from '../support/http.ts';
import { PUBLIC_ROUTES, V1_ROUTES } from '../support/routes.ts';
import { bearer, checkpointName, createProject, newOrg, testApp } from '../support/world.ts';

type Operation = {
  operationId?: string;
  'x-ftshare-extension'?: boolean;
  parameters?: { in: string; name: string; required?: boolean; schema?: { default?: unknown } }[];
  requestBody?: { content: Record<string, { schema: Record<string, unknown> }> };
};

/** Every served route, as (path template, method), once each. */
const SERVED = [...new Set([...V1_ROUTES, ...PUBLIC_ROUTES].map((r) => `${r.method.toLowerCase()} ${r.path}`))].map(
  (entry) => {
    const [method, path] = entry.split(' ') as [string, string];
    return { method, path };
  },
);

const isExtension = (path: string) =>
  (path.startsWith('/v1/fine_tuning/checkpoints') && !path.includes('/permissions')) ||
  path === '/healthz' ||
  path === '/readyz' ||
  path === '/v1/openapi.json' ||
  path === '/v1/organization/model_access' ||
  path === '/v1/organization/export' ||
  path === '/v1/organization/import';

/** CONTRACT §6 (the OpenAPI document, health) and §3 (unknown routes, request ids, body size). */
for (const backend of await backends()) {
  describe(`openapi, health and unknown routes (${backend.name})`, () => {
    const world = useWorld(backend);

    async function document() {
      const org = await newOrg(world.store);
      const response = await send(world.app, { method: 'GET', url: '/v1/openapi.json', headers: bearer(org.adminKey) });
      assert.equal(response.status, 200);
      assert.match(String(response.headers['content-type']), /^application\/json/);
      return response.body;
    }

    test('GET /v1/openapi.json is an OpenAPI 3.1 document listing every served route in {param} form', async () => {
      const doc = await document();
      assert.match(doc.openapi, /^3\.1\.\d+$/);
      assert.equal(typeof doc.info?.title, 'string');
      assert.equal(SERVED.length, 39);
      for (const { method, path } of SERVED) {
        assert.ok(doc.paths[path]?.[method], `${method.toUpperCase()} ${path} is missing from the document`);
      }
      const documented = Object.entries(doc.paths as Record<string, Record<string, Operation>>).flatMap(
        ([path, operations]) => Object.keys(operations).map((method) => `${method} ${path}`),
      );
      assert.deepEqual(documented.sort(), SERVED.map(({ method, path }) => `${method} ${path}`).sort());
      for (const path of Object.keys(doc.paths)) assert.ok(!path.includes(':'), `${path} uses :param form`);
    });

    test('the registry, health and document routes carry x-ftshare-extension; OpenAI’s do not', async () => {
      const doc = await document();
      for (const { method, path } of SERVED) {
        const operation: Operation = doc.paths[path][method];
        if (isExtension(path)) assert.equal(operation['x-ftshare-extension'], true, `${method} ${path}`);
        else assert.equal(operation['x-ftshare-extension'], undefined, `${method} ${path}`);
      }
    });

    test('OpenAI’s operationIds name the permission operations, and every operationId is unique', async () => {
      const doc = await document();
      const permissions = '/v1/fine_tuning/checkpoints/{fine_tuned_model_checkpoint}/permissions';
      assert.equal(doc.paths[permissions].post.operationId, 'createFineTuningCheckpointPermission');
      assert.equal(doc.paths[permissions].get.operationId, 'listFineTuningCheckpointPermissions');
      assert.equal(
        doc.paths[`${permissions}/{permission_id}`].delete.operationId,
        'deleteFineTuningCheckpointPermission',
      );
      const ids = SERVED.map(({ method, path }) => doc.paths[path][method].operationId);
      assert.ok(ids.every((id) => typeof id === 'string' && id.length > 0));
      assert.equal(new Set(ids).size, ids.length);
    });

    test('the document carries the validating schemas: limits, and defaulted query parameters are optional', async () => {
      const doc = await document();
      const permissions = doc.paths['/v1/fine_tuning/checkpoints/{fine_tuned_model_checkpoint}/permissions'];
      const body = permissions.post.requestBody.content['application/json'].schema;
      assert.deepEqual(body.required, ['project_ids']);
      assert.equal(body.additionalProperties, false);
      assert.equal(body.properties.project_ids.minItems, 1);
      assert.equal(body.properties.project_ids.maxItems, 100);

      const parameters = (permissions.get as Operation).parameters ?? [];
      const limit = parameters.find((p) => p.in === 'query' && p.name === 'limit');
      assert.deepEqual(limit?.schema, { minimum: 1, maximum: 100, default: 10, type: 'integer' });
      const checkpoint = parameters.find((p) => p.in === 'path');
      assert.equal(checkpoint?.name, 'fine_tuned_model_checkpoint');
      assert.equal(checkpoint?.required, true);

      // A query parameter the server defaults is one a client may leave out.
      for (const [path, operations] of Object.entries(doc.paths as Record<string, Record<string, Operation>>)) {
        for (const [method, operation] of Object.entries(operations)) {
          for (const parameter of operation.parameters ?? []) {
            if (parameter.in !== 'query') continue;
            assert.notEqual(
              parameter.required,
              true,
              `${method} ${path} ?${parameter.name} should be optional (the server defaults it)`,
            );
          }
        }
      }
    });

    test('/healthz and /readyz answer 200 without a key', async () => {
      assert.deepEqual((await send(world.app, { method: 'GET', url: '/healthz' })).body, { status: 'ok' });
      assert.deepEqual((await send(world.app, { method: 'GET', url: '/readyz' })).body, { status: 'ready' });
    });

    test('unknown routes and unknown methods answer 404 Invalid URL (METHOD /path), with or without a key', async () => {
      const org = await newOrg(world.store);
      const ckpt = checkpointName();
      const cases: [string, string, string][] = [
        ['GET', '/v1/nope', '/v1/nope'],
        ['GET', '/v1/nope?limit=5', '/v1/nope'],
        ['GET', '/', '/'],
        ['POST', '/v1/fine_tuning/jobs', '/v1/fine_tuning/jobs'],
        [
          'GET',
          `/v1/fine_tuning/checkpoints/${ckpt}/permissions/cp_x`,
          `/v1/fine_tuning/checkpoints/${ckpt}/permissions/cp_x`,
        ],
        ['PUT', '/v1/organization/projects', '/v1/organization/projects'],
        ['PATCH', `/v1/fine_tuning/checkpoints/${ckpt}/permissions`, `/v1/fine_tuning/checkpoints/${ckpt}/permissions`],
        ['DELETE', '/v1/organization/projects/proj_x', '/v1/organization/projects/proj_x'],
        [
          'DELETE',
          `/v1/fine_tuning/checkpoints/${ckpt}/permissions`,
          `/v1/fine_tuning/checkpoints/${ckpt}/permissions`,
        ],
        ['POST', '/healthz', '/healthz'],
        ['DELETE', '/v1/openapi.json', '/v1/openapi.json'],
      ];
      for (const [method, url, path] of cases) {
        for (const headers of [{}, bearer(org.adminKey)]) {
          const response = await send(world.app, { method: method as 'GET', url, headers });
          assertError(response, 404, { param: null, message: `Invalid URL (${method} ${path})` });
        }
      }
    });

    test('a malformed percent-encoding in the path answers the 400 envelope with a request id', async () => {
      const org = await newOrg(world.store);
      for (const segment of ['%zz', '%E0%A4%A', 'ft%3Aa%']) {
        for (const [method, url] of [
          ['GET', `/v1/fine_tuning/checkpoints/${segment}/permissions`],
          ['DELETE', `/v1/fine_tuning/checkpoints/${segment}`],
          ['GET', `/v1/organization/projects/${segment}`],
        ] as const) {
          for (const headers of [{}, bearer(org.adminKey)]) {
            assertError(await send(world.app, { method, url, headers }), 400, { param: null });
          }
        }
      }
      // Longer than the router takes (16 KiB; Node's own header limit stops it first over a socket).
      const huge = `/v1/fine_tuning/checkpoints/${'x'.repeat(16 * 1024 + 1)}`;
      assertError(await send(world.app, { method: 'GET', url: huge, headers: bearer(org.adminKey) }), 414, {
        param: null,
      });
    });

    test('a store that fails answers 503 (unavailable, retryable) or 500 (anything else), leaking nothing', async () => {
      const org = await newOrg(world.store);
      const code = world.store.kind === 'sqlite' ? 'SQLITE_BUSY' : 'ECONNREFUSED';
      const down = Object.assign(new Error('internal detail: 10.0.0.7:5432'), { code });
      assert.equal(world.store.isUnavailableError(down), true);
      const failing = (error: Error): Store =>
        Object.assign(Object.create(world.store), {
          ping: async () => Promise.reject(error),
          findApiKeyByHash: async () => Promise.reject(error),
        });

      for (const [error, status, errorCode] of [
        [down, 503, 'store_unavailable'],
        [new Error('internal detail: relation missing'), 500, 'server_error'],
      ] as const) {
        const app = await testApp(failing(error));
        try {
          const ready = await send(app, { method: 'GET', url: '/readyz' });
          assertError(ready, 503, { code: 'store_unavailable' });
          assert.equal(ready.headers['x-should-retry'], 'true');
          assert.equal(ready.headers['retry-after'], '1');
          const response = await send(app, { method: 'GET', url: '/v1/openapi.json', headers: bearer(org.adminKey) });
          assertError(response, status, { param: null, code: errorCode });
          if (status === 503) assert.equal(response.headers['retry-after'], '1');
          assert.ok(!JSON.stringify(response.body).includes('internal detail'));
          assert.deepEqual((await send(app, { method: 'GET', url: '/healthz' })).body, { status: 'ok' });
        } finally {
          await app.close();
        }
      }
    });

    test('every response carries its own x-request-id', async () => {
      const org = await newOrg(world.store);
      const responses = [
        await send(world.app, { method: 'GET', url: '/healthz' }),
        await send(world.app, { method: 'GET', url: '/healthz' }),
        await send(world.app, { method: 'GET', url: '/v1/organization/projects' }),
        await send(world.app, { method: 'GET', url: '/v1/organization/projects', headers: bearer(org.adminKey) }),
        await send(world.app, { method: 'GET', url: '/v1/missing' }),
      ];
      const ids = responses.map((r) => r.headers['x-request-id']);
      assert.equal(new Set(ids).size, ids.length);
    });

    test('a body over 1 MiB answers 413 on every route with a body, and writes nothing', async () => {
      const org = await newOrg(world.store);
      const project = await createProject(world.app, org.adminKey, 'kept');
      const big = 'x'.repeat(1024 * 1024 + 1);
      const headers = { ...bearer(org.adminKey), 'content-type': 'application/json' };
      const requests = [
        { url: '/v1/organization/projects', payload: JSON.stringify({ name: big }) },
        { url: `/v1/organization/projects/${project}`, payload: JSON.stringify({ name: big }) },
        { url: `/v1/organization/projects/${project}/service_accounts`, payload: JSON.stringify({ name: big }) },
        {
          url: '/v1/fine_tuning/checkpoints',
          payload: JSON.stringify({ fine_tuned_model_checkpoint: 'ft:a', project_id: project, pad: big }),
        },
      ];
      for (const request of requests) {
        const response = await send(world.app, { method: 'POST', headers, ...request });
        assertError(response, 413, { param: null });
      }
      // Without a valid key the server does not read the body at all: 401, not 413.
      const anonymous = await send(world.app, {
        method: 'POST',
        ...requests[0],
        headers: { 'content-type': 'application/json' },
      });
      assertError(anonymous, 401);

      const projects = await send(world.app, { method: 'GET', url: '/v1/organization/projects', headers });
      assert.deepEqual(
        projects.body.data.map((p: { id: string; name: string }) => [p.id, p.name]),
        [[project, 'kept']],
      );
      const checkpoints = await send(world.app, { method: 'GET', url: '/v1/fine_tuning/checkpoints', headers });
      assert.deepEqual(checkpoints.body.data, []);
    });
  });
}
