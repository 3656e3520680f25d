import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { randomBase62 } from '../../src/ids.ts';
import { backends, type TestDatabase } from '../support/backends.ts';
import { pythonSdk, reportPythonNotRun } from '../support/python.ts';
import { newAdminKey } from '../support/remote.ts';
import { type RunningServer, startServer } from '../support/server.ts';

/**
 * The official Python SDK (openai 3.x, unmodified) against the real server: projects created and
 * archived, checkpoint permissions granted, listed with auto-pagination and revoked, typed errors —
 * with the SDK's habit of sending `content-type: application/json` on body-less requests (a
 * DELETE, a POST .../archive). The SDK authenticates the fine-tuning routes with `api_key` and the
 * admin routes with `admin_api_key`: both must be the admin key (test/compat/python/sdk_check.py).
 */

const run = promisify(execFile);
const SCRIPT = fileURLToPath(new URL('./python/sdk_check.py', import.meta.url));

type Sent = { method: string; path: string; content_type: string | null; body_length: number; authorization: boolean };

const sdk = await pythonSdk();
if ('problem' in sdk) reportPythonNotRun(sdk.problem);
else {
  for (const backend of await backends()) {
    describe(`the official Python SDK ${sdk.version} against the server (${backend.name})`, () => {
      const adminKey = newAdminKey();
      let database: TestDatabase | undefined;
      let server: RunningServer | undefined;
      before(async () => {
        database = await backend.createDatabase();
        server = await startServer({ db: database.url, adminKey });
      });
      after(async () => {
        const code = await server?.stop();
        await database?.drop();
        assert.equal(code, 0, server?.output());
      });

      test('grant, list, revoke, create and archive projects; body-less requests with a JSON content type', async () => {
        assert.ok(server);
        const checkpoint = `ft:gpt-4o-mini-2024-07-18:acme:python:${randomBase62(8)}`;
        const { stdout } = await run(sdk.python, [SCRIPT], {
          env: {
            ...process.env,
            FTSHARE_BASE_URL: server.baseURL,
            FTSHARE_ADMIN_KEY: adminKey,
            FTSHARE_CHECKPOINT: checkpoint,
          },
          timeout: 120_000,
        });
        const out = JSON.parse(stdout);
        const [reader, other] = out.granted as [string, string];
        assert.match(reader, /^proj_/);
        assert.deepEqual(out.listed, [reader, other], 'auto-pagination over pages of one, in order');
        assert.deepEqual(out.deleted, { id: out.granted_ids[0], deleted: true, object: 'checkpoint.permission' });
        assert.deepEqual(out.after_delete, [other]);
        assert.equal(out.deleted_twice, 'NotFoundError');
        assert.deepEqual(out.archived, { id: other, status: 'archived' });
        assert.equal(out.grant_archived, 'BadRequestError project_archived project_ids');
        // With only admin_api_key, the SDK has no key for the fine-tuning routes and refuses to send.
        assert.equal(out.admin_key_only, 'TypeError');

        const sent = out.requests as Sent[];
        assert.ok(
          sent.every((r) => r.authorization),
          'every request carried the admin key',
        );
        // The SDK's habit: a JSON content type with no body, on DELETE and on POST .../archive.
        const bodiless = sent.filter((r) => r.method !== 'GET' && r.body_length === 0);
        assert.deepEqual(
          bodiless.map((r) => [
            r.method,
            r.content_type,
            r.path.split('/').at(-1) === 'archive' ? 'archive' : 'revoke',
          ]),
          [
            ['DELETE', 'application/json', 'revoke'],
            ['DELETE', 'application/json', 'revoke'],
            ['POST', 'application/json', 'archive'],
          ],
        );
        // Colons travel raw in the path, and pages follow `after`.
        assert.ok(sent.some((r) => r.path.includes(`${checkpoint}/permissions?limit=1&order=ascending&after=cp_`)));
      });
    });
  }
}
