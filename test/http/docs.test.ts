import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { SETTINGS } from '../../src/config.ts';
import { backends, openTestStore } from '../support/backends.ts';
import { send } from '../support/http.ts';
import { bearer, newOrg, testApp } from '../support/world.ts';

/**
 * The reference in docs/api.md stays true to the server: every route it lists is served, and every
 * route the server serves (its OpenAPI document) is listed. Parameter names may differ
 * (`{checkpoint}` for `{fine_tuned_model_checkpoint}`); methods and paths may not.
 */

const shape = (route: string) => route.replace(/\{[^}]+\}/g, '{}');

async function documented(): Promise<string[]> {
  const text = await readFile(new URL('../../docs/api.md', import.meta.url), 'utf8');
  return [...text.matchAll(/^\| `(GET|POST|DELETE) (\/[^`\s]+)`/gm)].map((m) => shape(`${m[1]} ${m[2]}`));
}

const [sqlite] = await backends();
if (sqlite) {
  describe('docs/api.md lists exactly the routes the server serves', () => {
    let ctx: Awaited<ReturnType<typeof openTestStore>>;
    let app: FastifyInstance;
    before(async () => {
      ctx = await openTestStore(sqlite);
      app = await testApp(ctx.store);
    });
    after(async () => {
      await app.close();
      await ctx.dispose();
    });

    test('the route table and the OpenAPI document agree', async () => {
      const org = await newOrg(ctx.store);
      const response = await send(app, { method: 'GET', url: '/v1/openapi.json', headers: bearer(org.adminKey) });
      const served = Object.entries(response.body.paths as Record<string, Record<string, unknown>>).flatMap(
        ([path, operations]) => Object.keys(operations).map((method) => shape(`${method.toUpperCase()} ${path}`)),
      );
      const listed = await documented();
      assert.equal(new Set(listed).size, listed.length, 'a route is listed twice');
      assert.deepEqual([...listed].sort(), [...served].sort());
    });
  });
}

describe('the README lists every setting of the server', () => {
  test('its configuration table names each flag and environment variable of `ftshare serve`', async () => {
    const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
    const table = readme.slice(readme.indexOf('## Configuration'), readme.indexOf('## Running'));
    const rows = [...table.matchAll(/^\| `(--[a-z-]+)` +\| `([A-Z_]+)` +\|/gm)].map((m) => `${m[1]} ${m[2]}`);
    const settings = SETTINGS.map((s) => `${s.flag.split(' ')[0]} ${s.env}`);
    assert.deepEqual([...rows].sort(), [...settings].sort());
  });
});
