import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import { randomBase62 } from '../../src/ids.ts';
import { backends, type TestDatabase } from '../support/backends.ts';
import { type JsonClient, jsonClient, newAdminKey, ok, registerCheckpoint } from '../support/remote.ts';
import { type RunningServer, startServer } from '../support/server.ts';

/**
 * CONTRACT §1 through the official `openai` package, unmodified, against the real server process:
 * the SDK's own path encoding, pagination, auth headers and error classes decide what passes.
 */

const PERMISSION_ID = /^cp_[0-9A-Za-z]{24}$/;
const BASE_CHECKPOINT = 'ft:gpt-4o-mini-2024-07-18:acme:weather:B7R9VjQd';
const STEP_CHECKPOINT = `${BASE_CHECKPOINT}:ckpt-step-88`;
const nowSeconds = () => Math.floor(Date.now() / 1000);

type Exchange = { method: string; url: URL; status: number; body: unknown };

/** A fetch that records every exchange the SDK makes, with the JSON body it was answered. */
function recordingFetch(log: Exchange[]) {
  return async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const response = await fetch(input, init);
    const text = await response.clone().text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {}
    const url = new URL(input instanceof Request ? input.url : String(input));
    const method = init?.method ?? (input instanceof Request ? input.method : 'GET');
    log.push({ method: method.toUpperCase(), url, status: response.status, body });
    return response;
  };
}

let checkpointCounter = 0;
const uniqueCheckpoint = () => `ft:gpt-4o-mini-2024-07-18:acme:sdk${checkpointCounter++}:${randomBase62(8)}`;

for (const backend of await backends()) {
  describe(`openai SDK against the server (${backend.name})`, () => {
    const adminKey = newAdminKey();
    const exchanges: Exchange[] = [];
    let database: TestDatabase | undefined;
    let server: RunningServer | undefined;
    let client: OpenAI;
    let api: JsonClient;

    before(async () => {
      database = await backend.createDatabase();
      server = await startServer({ db: database.url, adminKey });
      client = new OpenAI({
        apiKey: 'unused',
        adminAPIKey: adminKey,
        baseURL: server.baseURL,
        maxRetries: 0,
        fetch: recordingFetch(exchanges),
      });
      api = jsonClient(server.baseURL, adminKey);
    });

    after(async () => {
      const code = await server?.stop();
      await database?.drop();
      assert.equal(code, 0, `server exited with ${code}:\n${server?.output()}`);
    });

    const permissions = () => client.fineTuning.checkpoints.permissions;

    /** The exchanges recorded since `mark` (a length of `exchanges`). */
    const since = (mark: number) => exchanges.slice(mark);

    /** `count` projects made through the SDK, and a fresh checkpoint owned by another one. */
    async function fixture(count: number, checkpoint = uniqueCheckpoint()) {
      const owner = await client.admin.organization.projects.create({ name: 'owner' });
      const projects: string[] = [];
      for (let i = 0; i < count; i++) {
        projects.push((await client.admin.organization.projects.create({ name: `grantee ${i}` })).id);
      }
      await registerCheckpoint(api, checkpoint, owner.id);
      return { checkpoint, owner: owner.id, projects };
    }

    async function listAll(checkpoint: string, query: OpenAI.FineTuning.Checkpoints.PermissionListParams = {}) {
      const items: OpenAI.FineTuning.Checkpoints.PermissionListResponse[] = [];
      for await (const item of permissions().list(checkpoint, query)) items.push(item);
      return items;
    }

    test('create grants one permission per distinct project, in request order, as an OpenAI list', async () => {
      const { checkpoint, projects } = await fixture(3);
      const [a, b, c] = projects as [string, string, string];
      const mark = exchanges.length;
      const t0 = nowSeconds();
      const page = await permissions().create(checkpoint, { project_ids: [b, a, b, c] });
      const t1 = nowSeconds();

      assert.deepEqual(
        page.data.map((p) => p.project_id),
        [b, a, c],
      );
      for (const permission of page.data) {
        assert.deepEqual(Object.keys(permission).sort(), ['created_at', 'id', 'object', 'project_id']);
        assert.equal(permission.object, 'checkpoint.permission');
        assert.match(permission.id, PERMISSION_ID);
        assert.ok(Number.isInteger(permission.created_at), 'created_at is integer unix seconds');
        assert.ok(permission.created_at >= t0 && permission.created_at <= t1, `created_at ${permission.created_at}`);
      }
      assert.equal(new Set(page.data.map((p) => p.id)).size, 3);

      const [exchange] = since(mark);
      assert.equal(exchange?.method, 'POST');
      assert.equal(exchange?.status, 200);
      assert.deepEqual(exchange?.body, {
        object: 'list',
        data: page.data,
        first_id: page.data[0]?.id,
        last_id: page.data[2]?.id,
        has_more: false,
      });
      assert.equal(since(mark).length, 1, 'create is one request');
    });

    test('granting an already granted project returns the existing permission, no error', async () => {
      const { checkpoint, projects } = await fixture(3);
      const [a, b, c] = projects as [string, string, string];
      const first = await permissions().create(checkpoint, { project_ids: [a, b] });
      const mark = exchanges.length;
      const again: OpenAI.FineTuning.Checkpoints.PermissionCreateResponse[] = [];
      // Iterating a create is what the SDK's docs show; it must not send a second request.
      for await (const permission of permissions().create(checkpoint, { project_ids: [c, b, a] })) {
        again.push(permission);
      }
      assert.equal(since(mark).length, 1, 'iterating a create sends exactly one request');
      assert.deepEqual(
        again.map((p) => p.project_id),
        [c, b, a],
      );
      assert.deepEqual(again[1], first.data[1], 'b: same id and created_at');
      assert.deepEqual(again[2], first.data[0], 'a: same id and created_at');
      assert.ok(!first.data.some((p) => p.id === again[0]?.id), 'c is new');

      const listed = await listAll(checkpoint);
      assert.equal(listed.length, 3);
      assert.equal(new Set(listed.map((p) => p.id)).size, 3);
    });

    test('list and the deprecated retrieve: newest first by default, exact list envelope', async () => {
      const { checkpoint, projects } = await fixture(4);
      const [a, b, c, d] = projects as [string, string, string, string];
      const empty = await permissions().retrieve(checkpoint);
      assert.deepEqual(empty, { object: 'list', data: [], first_id: null, last_id: null, has_more: false });

      const abc = (await permissions().create(checkpoint, { project_ids: [a, b, c] })).data;
      const dd = (await permissions().create(checkpoint, { project_ids: [d] })).data;
      const ascending = [...abc, ...dd];
      const descending = [...ascending].reverse();

      const mark = exchanges.length;
      const page = await permissions().list(checkpoint);
      assert.deepEqual(page.data, descending);
      assert.equal(page.has_more, false);
      assert.equal(page.hasNextPage(), false);
      const listBody = since(mark)[0]?.body;
      assert.deepEqual(listBody, {
        object: 'list',
        data: descending,
        first_id: descending[0]?.id,
        last_id: descending[3]?.id,
        has_more: false,
      });

      const retrieved = await permissions().retrieve(checkpoint);
      assert.deepEqual(retrieved, listBody);

      assert.deepEqual(await permissions().retrieve(checkpoint, { order: 'ascending', limit: 2 }), {
        object: 'list',
        data: ascending.slice(0, 2),
        first_id: ascending[0]?.id,
        last_id: ascending[1]?.id,
        has_more: true,
      });
      assert.deepEqual(await permissions().retrieve(checkpoint, { order: 'descending', limit: 4 }), listBody);
      const onlyC = ascending.filter((p) => p.project_id === c);
      assert.deepEqual(await permissions().retrieve(checkpoint, { project_id: c }), {
        object: 'list',
        data: onlyC,
        first_id: onlyC[0]?.id,
        last_id: onlyC[0]?.id,
        has_more: false,
      });
    });

    test('delete revokes exactly one permission, once', async () => {
      const { checkpoint, projects } = await fixture(2);
      const other = (await fixture(0)).checkpoint;
      const [a, b] = projects as [string, string];
      const [pa, pb] = (await permissions().create(checkpoint, { project_ids: [a, b] })).data as [
        OpenAI.FineTuning.Checkpoints.PermissionCreateResponse,
        OpenAI.FineTuning.Checkpoints.PermissionCreateResponse,
      ];

      const deleted = await permissions().delete(pa.id, { fine_tuned_model_checkpoint: checkpoint });
      assert.deepEqual(deleted, { object: 'checkpoint.permission', id: pa.id, deleted: true });
      assert.deepEqual(await listAll(checkpoint), [pb]);

      await assert.rejects(permissions().delete(pa.id, { fine_tuned_model_checkpoint: checkpoint }), (error) => {
        assert.ok(error instanceof OpenAI.NotFoundError, String(error));
        assert.equal(error.status, 404);
        return true;
      });
      // A permission of another checkpoint, and an id that never existed.
      await assert.rejects(permissions().delete(pb.id, { fine_tuned_model_checkpoint: other }), OpenAI.NotFoundError);
      await assert.rejects(
        permissions().delete(`cp_${randomBase62(24)}`, { fine_tuned_model_checkpoint: checkpoint }),
        OpenAI.NotFoundError,
      );
      assert.deepEqual(await listAll(checkpoint), [pb], 'the failed deletes removed nothing');

      const regranted = (await permissions().create(checkpoint, { project_ids: [a] })).data[0];
      assert.equal(regranted?.project_id, a);
      assert.notEqual(regranted?.id, pa.id, 'a revoked permission id is not reused');
    });

    describe('auto-pagination', () => {
      let checkpoint: string;
      let ascending: string[];
      let projects: string[];

      before(async () => {
        const made = await fixture(7);
        checkpoint = made.checkpoint;
        projects = made.projects;
        // Three requests, two of them multi-project: request order decides order within one.
        const batches = [projects.slice(0, 3), projects.slice(3, 4), projects.slice(4)];
        ascending = [];
        for (const project_ids of batches) {
          ascending.push(...(await permissions().create(checkpoint, { project_ids })).data.map((p) => p.id));
        }
      });

      for (const order of ['ascending', 'descending'] as const) {
        test(`for await over list(limit 2, ${order}) yields every permission once, in order, in 4 pages`, async () => {
          const expected = order === 'ascending' ? ascending : [...ascending].reverse();
          const mark = exchanges.length;
          const seen = (await listAll(checkpoint, { limit: 2, order })).map((p) => p.id);
          assert.deepEqual(seen, expected);
          assert.equal(new Set(seen).size, seen.length, 'no duplicates');

          const pages = since(mark);
          assert.equal(pages.length, 4, 'ceil(7 / 2) requests: no phantom last page');
          let previousLast: string | null = null;
          pages.forEach((page, index) => {
            assert.equal(page.method, 'GET');
            assert.equal(page.status, 200);
            assert.equal(page.url.searchParams.get('limit'), '2');
            assert.equal(page.url.searchParams.get('order'), order);
            assert.equal(page.url.searchParams.get('after'), previousLast, `page ${index} continues after the last`);
            const body = page.body as { has_more: boolean; last_id: string | null; first_id: string | null };
            assert.equal(body.has_more, index < 3);
            assert.equal(body.first_id, expected[index * 2]);
            assert.equal(body.last_id, expected[Math.min(index * 2 + 1, expected.length - 1)]);
            previousLast = body.last_id;
          });
        });

        test(`every page size gives the same ${order} sequence with exactly ceil(n / limit) requests`, async () => {
          const expected = order === 'ascending' ? ascending : [...ascending].reverse();
          for (let limit = 1; limit <= 8; limit++) {
            const mark = exchanges.length;
            const seen = (await listAll(checkpoint, { limit, order })).map((p) => p.id);
            assert.deepEqual(seen, expected, `limit ${limit}`);
            assert.equal(since(mark).length, Math.ceil(expected.length / limit), `requests at limit ${limit}`);
          }
        });

        test(`project_id filter pages to exactly that project's permission (${order})`, async () => {
          for (const [index, project] of projects.entries()) {
            const mark = exchanges.length;
            const seen = await listAll(checkpoint, { limit: 1, order, project_id: project });
            assert.deepEqual(
              seen.map((p) => [p.id, p.project_id]),
              [[ascending[index], project]],
            );
            assert.equal(since(mark).length, 1, 'has_more is false on the only page');
            assert.equal(since(mark)[0]?.url.searchParams.get('project_id'), project);
          }
        });
      }

      test('no order means descending', async () => {
        assert.deepEqual(
          (await listAll(checkpoint, { limit: 3 })).map((p) => p.id),
          [...ascending].reverse(),
        );
      });

      test('manual paging with getNextPage agrees with for await', async () => {
        let page = await permissions().list(checkpoint, { limit: 3, order: 'ascending' });
        const seen = page.data.map((p) => p.id);
        while (page.hasNextPage()) {
          page = await page.getNextPage();
          seen.push(...page.data.map((p) => p.id));
        }
        assert.deepEqual(seen, ascending);
      });
    });

    describe('errors arrive as the SDK error classes', () => {
      test('BadRequestError for an unknown or archived project, param project_ids, nothing granted', async () => {
        const { checkpoint, projects } = await fixture(3);
        const [a, b, archived] = projects as [string, string, string];
        await client.admin.organization.projects.archive(archived);
        for (const bad of [`proj_${randomBase62(24)}`, 'not-a-project', archived]) {
          await assert.rejects(permissions().create(checkpoint, { project_ids: [a, b, bad] }), (error) => {
            assert.ok(error instanceof OpenAI.BadRequestError, String(error));
            assert.equal(error.status, 400);
            assert.equal(error.param, 'project_ids');
            assert.deepEqual(Object.keys(error.error as object).sort(), ['code', 'message', 'param', 'type']);
            assert.match(error.requestID ?? '', /\S/, 'x-request-id reaches the SDK');
            return true;
          });
        }
        assert.deepEqual(await listAll(checkpoint), [], 'a failed create grants nothing');
      });

      test('BadRequestError for a foreign after cursor, param after', async () => {
        const { checkpoint, projects } = await fixture(1);
        const other = await fixture(1);
        const foreign = (await permissions().create(other.checkpoint, { project_ids: other.projects })).data[0];
        await permissions().create(checkpoint, { project_ids: projects });
        for (const after of [foreign?.id ?? '', `cp_${randomBase62(24)}`]) {
          await assert.rejects(permissions().list(checkpoint, { after }), (error) => {
            assert.ok(error instanceof OpenAI.BadRequestError, String(error));
            assert.equal(error.param, 'after');
            return true;
          });
        }
      });

      test('AuthenticationError for an unknown key', async () => {
        const { checkpoint } = await fixture(0);
        const wrongKey = newAdminKey();
        const stranger = new OpenAI({
          apiKey: 'unused',
          adminAPIKey: wrongKey,
          baseURL: client.baseURL,
          maxRetries: 0,
        });
        await assert.rejects(stranger.fineTuning.checkpoints.permissions.list(checkpoint), (error) => {
          assert.ok(error instanceof OpenAI.AuthenticationError, String(error));
          assert.equal(error.status, 401);
          assert.equal(error.code, 'invalid_api_key');
          assert.ok(!error.message.includes(wrongKey), 'the message does not echo the whole key');
          return true;
        });
        await assert.rejects(
          stranger.fineTuning.checkpoints.permissions.create(checkpoint, { project_ids: ['proj_x'] }),
          OpenAI.AuthenticationError,
        );
      });

      test('PermissionDeniedError for a project (service account) key, nothing granted', async () => {
        const { checkpoint, owner, projects } = await fixture(1);
        const account = await client.admin.organization.projects.serviceAccounts.create(owner, { name: 'ci' });
        const projectKey = account.api_key?.value;
        assert.ok(projectKey, 'the service account comes with its key');
        const project = new OpenAI({
          apiKey: projectKey,
          adminAPIKey: projectKey,
          baseURL: client.baseURL,
          maxRetries: 0,
        });
        const denied = (error: unknown) => {
          assert.ok(error instanceof OpenAI.PermissionDeniedError, String(error));
          assert.equal(error.status, 403);
          return true;
        };
        await assert.rejects(project.fineTuning.checkpoints.permissions.list(checkpoint), denied);
        await assert.rejects(
          project.fineTuning.checkpoints.permissions.create(checkpoint, { project_ids: projects }),
          denied,
        );
        await assert.rejects(project.admin.organization.projects.create({ name: 'nope' }), denied);
        assert.deepEqual(await listAll(checkpoint), []);
      });

      test('NotFoundError model_not_found for an unknown checkpoint, on every route', async () => {
        const { projects } = await fixture(1);
        const unknown = uniqueCheckpoint();
        const notFound = (error: unknown) => {
          assert.ok(error instanceof OpenAI.NotFoundError, String(error));
          assert.equal(error.status, 404);
          assert.equal(error.code, 'model_not_found');
          assert.equal(
            (error.error as { message: string }).message,
            `The model \`${unknown}\` does not exist or you do not have access to it.`,
          );
          return true;
        };
        await assert.rejects(permissions().list(unknown), notFound);
        await assert.rejects(permissions().retrieve(unknown), notFound);
        await assert.rejects(permissions().create(unknown, { project_ids: projects }), notFound);
        await assert.rejects(
          permissions().delete(`cp_${randomBase62(24)}`, { fine_tuned_model_checkpoint: unknown }),
          notFound,
        );
      });
    });

    test('checkpoint ids with colons: the SDK sends them raw; %3A-encoded means the same checkpoint', async () => {
      const { owner, projects } = await fixture(3);
      const [a, b, c] = projects as [string, string, string];
      await registerCheckpoint(api, BASE_CHECKPOINT, owner);
      await registerCheckpoint(api, STEP_CHECKPOINT, owner);

      const mark = exchanges.length;
      const onBase = (await permissions().create(BASE_CHECKPOINT, { project_ids: [a] })).data;
      const onStep = (await permissions().create(STEP_CHECKPOINT, { project_ids: [b] })).data;
      assert.deepEqual(
        since(mark).map((e) => e.url.pathname),
        [
          `/v1/fine_tuning/checkpoints/${BASE_CHECKPOINT}/permissions`,
          `/v1/fine_tuning/checkpoints/${STEP_CHECKPOINT}/permissions`,
        ],
      );
      // Two distinct checkpoints, although one name is a prefix of the other.
      assert.deepEqual(await listAll(BASE_CHECKPOINT), onBase);
      assert.deepEqual(await listAll(STEP_CHECKPOINT), onStep);

      const encodedBase = encodeURIComponent(BASE_CHECKPOINT);
      const encodedStep = encodeURIComponent(STEP_CHECKPOINT);
      assert.ok(encodedStep.includes('%3A') && !encodedStep.includes(':'));
      const halfEncodedStep = STEP_CHECKPOINT.replace(':', '%3a');

      const retrieved = await permissions().retrieve(BASE_CHECKPOINT);
      assert.deepEqual(ok(await api('GET', `/fine_tuning/checkpoints/${encodedBase}/permissions`), 'list'), retrieved);
      assert.equal(ok(await api('GET', `/fine_tuning/checkpoints/${encodedStep}`), 'get').id, STEP_CHECKPOINT);

      const viaFetch = ok(
        await api('POST', `/fine_tuning/checkpoints/${encodedStep}/permissions`, { project_ids: [c, b] }),
        'encoded create',
      );
      assert.deepEqual(viaFetch.data[1], onStep[0], 'the encoded id reaches the same permission');
      assert.deepEqual(
        (await listAll(STEP_CHECKPOINT, { order: 'ascending' })).map((p) => p.project_id),
        [b, c],
      );
      assert.deepEqual(
        ok(await api('GET', `/fine_tuning/checkpoints/${halfEncodedStep}/permissions?order=ascending`), 'list').data,
        await listAll(STEP_CHECKPOINT, { order: 'ascending' }),
      );

      const revoked = ok(
        await api('DELETE', `/fine_tuning/checkpoints/${encodedBase}/permissions/${onBase[0]?.id}`),
        'encoded delete',
      );
      assert.deepEqual(revoked, { object: 'checkpoint.permission', id: onBase[0]?.id, deleted: true });
      assert.deepEqual(await listAll(BASE_CHECKPOINT), []);
      assert.deepEqual(
        await permissions().delete(onStep[0]?.id ?? '', { fine_tuned_model_checkpoint: STEP_CHECKPOINT }),
        { object: 'checkpoint.permission', id: onStep[0]?.id, deleted: true },
      );
      assert.deepEqual(
        (await listAll(STEP_CHECKPOINT)).map((p) => p.project_id),
        [c],
      );
    });
  });
}
