import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { InjectOptions } from 'fastify';
import { backends } from '../support/backends.ts';
import {
  archive,
  assertError,
  assertModelNotFound,
  createProjects,
  listPermissions,
  permissionsUrl,
  send,
  sharedCheckpoint,
  useWorld,
} from '../support/http.ts';
import { bearer, checkpointName, createProject, newOrg } from '../support/world.ts';

/** CONTRACT §1, §3: every bad input to the permission routes, and that none of them writes anything. */
for (const backend of await backends()) {
  describe(`checkpoint permission errors (${backend.name})`, () => {
    const world = useWorld(backend);

    /** A checkpoint with one permission, a spare active project, and a POST that must be refused. */
    async function setup() {
      const shared = await sharedCheckpoint(world.app, world.store);
      const spare = await createProject(world.app, shared.org.adminKey, 'spare');
      const before = await listPermissions(world.app, shared.org.adminKey, shared.checkpoint, { limit: 100 });
      assert.equal(before.data.length, 1);
      const post = (extra: Partial<InjectOptions>) =>
        send(world.app, {
          method: 'POST',
          url: permissionsUrl(shared.checkpoint),
          headers: { ...bearer(shared.org.adminKey), ...(extra.headers ?? {}) },
          ...(extra.payload === undefined ? {} : { payload: extra.payload }),
        });
      const unchanged = async () =>
        assert.deepEqual(
          await listPermissions(world.app, shared.org.adminKey, shared.checkpoint, { limit: 100 }),
          before,
        );
      return { ...shared, spare, post, unchanged };
    }

    const json = { 'content-type': 'application/json' };

    test('invalid JSON answers 400 invalid_json and grants nothing', async () => {
      const s = await setup();
      for (const payload of ['{"project_ids": [', '{project_ids: []}', `{"project_ids": ["${'x'}"]}}`]) {
        assertError(await s.post({ headers: json, payload }), 400, { param: null, code: 'invalid_json' });
      }
      // An empty body is no body: the required field is missing (README, compatibility notes).
      assertError(await s.post({ headers: json, payload: '' }), 400, {
        param: 'project_ids',
        code: 'missing_required_parameter',
      });
      await s.unchanged();
    });

    test('a body that is not a JSON object (array, string, number, null) answers 400', async () => {
      const s = await setup();
      for (const payload of [`["${s.spare}"]`, `"${s.spare}"`, '42', 'null', 'true', '[]']) {
        const response = await s.post({ headers: json, payload });
        assertError(response, 400, { param: null });
        assert.match(response.body.error.message, /JSON object/, payload);
      }
      await s.unchanged();
    });

    test('project_ids missing, not an array, or empty answers 400 param project_ids', async () => {
      const s = await setup();
      const cases: unknown[] = [
        {},
        { project_ids: null },
        { project_ids: s.spare },
        { project_ids: { 0: s.spare } },
        { project_ids: 7 },
        { project_ids: [] },
      ];
      for (const payload of cases) {
        assertError(await s.post({ payload: payload as object }), 400, { param: 'project_ids' });
      }
      assertError(await s.post({ payload: {} }), 400, {
        param: 'project_ids',
        code: 'missing_required_parameter',
      });
      await s.unchanged();
    });

    test('more than 100 project_ids, even repeats of valid ones, answers 400 param project_ids', async () => {
      const s = await setup();
      assertError(await s.post({ payload: { project_ids: Array(101).fill(s.spare) } }), 400, { param: 'project_ids' });
      const many = await createProjects(world.app, s.org.adminKey, 100);
      assertError(await s.post({ payload: { project_ids: [...many, s.spare] } }), 400, { param: 'project_ids' });
      await s.unchanged();
    });

    test('a non-string or empty-string entry answers 400 param project_ids', async () => {
      const s = await setup();
      for (const bad of [1, null, true, {}, [s.spare], '', ' ', 'proj x']) {
        assertError(await s.post({ payload: { project_ids: [s.spare, bad] } }), 400, { param: 'project_ids' });
      }
      await s.unchanged();
    });

    test('an unknown, archived or foreign project answers 400 param project_ids and grants none', async () => {
      const s = await setup();
      const archived = await createProject(world.app, s.org.adminKey, 'archived');
      await archive(world.app, s.org.adminKey, archived);
      const stranger = await newOrg(world.store);
      const foreign = await createProject(world.app, stranger.adminKey, 'foreign');

      const cases: [string, string][] = [
        ['proj_unknown000000000000000', 'project_not_found'],
        [archived, 'project_archived'],
        [foreign, 'project_not_found'],
      ];
      for (const [bad, code] of cases) {
        for (const projectIds of [[bad], [s.spare, bad], [bad, s.spare], [s.spare, s.grantee, bad, s.spare]]) {
          const response = await s.post({ payload: { project_ids: projectIds } });
          assertError(response, 400, { param: 'project_ids', code });
          assert.ok(response.body.error.message.includes(bad), response.body.error.message);
        }
      }
      // The foreign project's organization saw nothing either.
      await s.unchanged();
    });

    test('an archived project keeps its permission, but naming it in a grant, even again, is refused', async () => {
      const s = await setup();
      await archive(world.app, s.org.adminKey, s.grantee);
      const response = await s.post({ payload: { project_ids: [s.spare, s.grantee] } });
      assertError(response, 400, { param: 'project_ids', code: 'project_archived' });
      await s.unchanged();
    });

    test('an unknown body field answers 400 with param naming it', async () => {
      const s = await setup();
      for (const field of ['project_id', 'expires_at', 'extra']) {
        const response = await s.post({ payload: { project_ids: [s.spare], [field]: 'x' } });
        assertError(response, 400, { param: field, code: 'unknown_parameter' });
        assert.ok(response.body.error.message.includes(field));
      }
      await s.unchanged();
    });

    test('limit 0, 101, abc, 1.5 and order=up answer 400 naming the query parameter', async () => {
      const s = await setup();
      const list = (query: string) =>
        send(world.app, {
          method: 'GET',
          url: `${permissionsUrl(s.checkpoint)}?${query}`,
          headers: bearer(s.org.adminKey),
        });
      for (const limit of ['0', '101', 'abc', '1.5', '-1', '']) {
        assertError(await list(`limit=${limit}`), 400, { param: 'limit' });
      }
      for (const order of ['up', 'asc', 'DESC', '']) {
        assertError(await list(`order=${order}`), 400, { param: 'order' });
      }
      assertError(await list('project_id='), 400, { param: 'project_id' });
    });

    test('an empty or over-256-character checkpoint id answers 400 naming it', async () => {
      const s = await setup();
      const headers = bearer(s.org.adminKey);
      const long = `ft:${'a'.repeat(254)}`;
      assert.equal(long.length, 257);
      for (const checkpoint of ['', long]) {
        const url = permissionsUrl(checkpoint);
        const requests: InjectOptions[] = [
          { method: 'POST', url, headers, payload: { project_ids: [s.spare] } },
          { method: 'GET', url, headers },
          { method: 'DELETE', url: `${url}/${s.permission}`, headers },
        ];
        for (const request of requests) {
          assertError(await send(world.app, request), 400, { param: 'fine_tuned_model_checkpoint' });
        }
      }
      await s.unchanged();
    });

    test('an unknown checkpoint answers 404 model_not_found with OpenAI’s message', async () => {
      const s = await setup();
      const headers = bearer(s.org.adminKey);
      const longest = `ft:${'b'.repeat(253)}`;
      for (const unknown of [checkpointName(), `${s.checkpoint}:extra`, s.checkpoint.slice(0, -1), longest]) {
        const url = permissionsUrl(unknown);
        assertModelNotFound(
          await send(world.app, { method: 'POST', url, headers, payload: { project_ids: [s.spare] } }),
          unknown,
        );
        assertModelNotFound(await send(world.app, { method: 'GET', url, headers }), unknown);
        assertModelNotFound(
          await send(world.app, { method: 'DELETE', url: `${url}/${s.permission}`, headers }),
          unknown,
        );
      }
      await s.unchanged();
    });

    test('an unknown permission id answers 404 and deletes nothing', async () => {
      const s = await setup();
      for (const id of ['cp_000000000000000000000000', 'nope', `${s.permission}x`]) {
        const response = await send(world.app, {
          method: 'DELETE',
          url: `${permissionsUrl(s.checkpoint)}/${id}`,
          headers: bearer(s.org.adminKey),
        });
        assertError(response, 404, { param: null, code: 'not_found' });
      }
      await s.unchanged();
    });

    test('a body over 1 MiB answers 413 and grants nothing', async () => {
      const s = await setup();
      const payload = JSON.stringify({ project_ids: [s.spare], padding: 'x'.repeat(1024 * 1024) });
      const response = await s.post({ headers: json, payload });
      assertError(response, 413, { param: null, code: 'payload_too_large' });
      // Exactly at the limit is parsed (and then refused for what it says, not for its size).
      const filler = 'x'.repeat(1024 * 1024 - JSON.stringify({ project_ids: [s.spare], padding: '' }).length);
      const atLimit = JSON.stringify({ project_ids: [s.spare], padding: filler });
      assert.equal(Buffer.byteLength(atLimit), 1024 * 1024);
      assertError(await s.post({ headers: json, payload: atLimit }), 400, { param: 'padding' });
      await s.unchanged();
    });
  });
}
