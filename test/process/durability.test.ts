import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import { after, afterEach, before, describe, test } from 'node:test';
import { randomBase62 } from '../../src/ids.ts';
import { backends, type TestDatabase } from '../support/backends.ts';
import { createProjects, type JsonClient, jsonClient, newAdminKey, ok, registerCheckpoint } from '../support/remote.ts';
import { type RunningServer, startServer } from '../support/server.ts';

/**
 * CONTRACT §4 against the real process: a write answered 200 survives `kill -9` of the server the
 * moment the answer arrives, and SIGTERM lets the requests in flight finish before exiting 0.
 */

type Permission = { object: string; id: string; created_at: number; project_id: string };

const permissionsPath = (checkpoint: string) => `/fine_tuning/checkpoints/${checkpoint}/permissions`;
const uniqueCheckpoint = () => `ft:gpt-4o-mini-2024-07-18:acme:durable:${randomBase62(8)}`;

/** Every permission of `checkpoint`, oldest first, following cursors. */
async function listAll(api: JsonClient, checkpoint: string): Promise<Permission[]> {
  const items: Permission[] = [];
  let after = '';
  for (;;) {
    const page = ok(
      await api('GET', `${permissionsPath(checkpoint)}?order=ascending&limit=100${after && `&after=${after}`}`),
      'list',
    );
    items.push(...page.data);
    if (!page.has_more) return items;
    after = page.last_id;
  }
}

type Event = { type: string; [payload: string]: unknown };

/**
 * The audit log and the state agree (issue: no change without its event, no event without its
 * change): the permissions of `checkpoint` are exactly those created and not since deleted in the log.
 */
async function assertAuditMatches(api: JsonClient, checkpoint: string): Promise<void> {
  const live = new Set<string>();
  const events: Event[] = [];
  let after = '';
  for (;;) {
    const types = 'event_types[]=checkpoint.permission.created&event_types[]=checkpoint.permission.deleted';
    const page = ok(
      await api('GET', `/organization/audit_logs?limit=100&${types}${after && `&after=${after}`}`),
      'audit',
    );
    events.push(...page.data);
    if (!page.has_more) break;
    after = page.last_id;
  }
  for (const event of events.reverse()) {
    const payload = event[event.type] as { id: string; data: { fine_tuned_model_checkpoint: string } };
    if (payload.data.fine_tuned_model_checkpoint !== checkpoint) continue;
    if (event.type === 'checkpoint.permission.created') live.add(payload.id);
    else live.delete(payload.id);
  }
  const listed = (await listAll(api, checkpoint)).map((p) => p.id).sort();
  assert.deepEqual([...live].sort(), listed, 'the audit log and the permissions disagree');
}

/**
 * A grant whose request the server has already received and dispatched, with its body held back:
 * `Expect: 100-continue` makes the server answer `100 Continue` once it has parsed the headers and
 * handed the request to the app, so `accepted` resolving means the request is in flight.
 */
function heldGrant(baseURL: string, key: string, checkpoint: string, projectIds: string[], agent: http.Agent | false) {
  const body = JSON.stringify({ project_ids: projectIds });
  const request = http.request(`${baseURL}${permissionsPath(checkpoint)}`, {
    method: 'POST',
    agent,
    headers: {
      authorization: `Bearer ${key}`,
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      expect: '100-continue',
    },
  });
  const answered = new Promise<{ status: number; body: { data: Permission[] } }>((resolve, reject) => {
    request.on('error', reject);
    request.on('response', (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk) => {
        text += chunk;
      });
      response.on('error', reject);
      response.on('end', () => {
        try {
          resolve({ status: response.statusCode ?? 0, body: JSON.parse(text) });
        } catch (error) {
          reject(error);
        }
      });
    });
  });
  const accepted = once(request, 'continue');
  request.flushHeaders();
  return {
    accepted,
    /** Sends the body and waits for the answer. */
    finish() {
      request.end(body);
      return answered;
    },
  };
}

/** Resolves once the server's output matches `pattern`; rejects if it exits first. */
function outputMatching(server: RunningServer, pattern: RegExp): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = () => {
      if (!pattern.test(server.output())) return;
      server.child.stdout?.off('data', check);
      server.child.off('exit', exited);
      resolve();
    };
    const exited = () => reject(new Error(`server exited before printing ${pattern}:\n${server.output()}`));
    server.child.stdout?.on('data', check);
    server.child.once('exit', exited);
    check();
  });
}

for (const backend of await backends()) {
  describe(`durability across server processes (${backend.name})`, () => {
    const adminKey = newAdminKey();
    let database: TestDatabase | undefined;
    let running: RunningServer[] = [];

    /** A server on this suite's database; afterEach kills whatever is still running. */
    async function start(args?: string[]): Promise<{ server: RunningServer; api: JsonClient }> {
      assert.ok(database);
      const server = await startServer({ db: database.url, adminKey, ...(args ? { args } : {}) });
      running.push(server);
      return { server, api: jsonClient(server.baseURL, adminKey) };
    }

    before(async () => {
      database = await backend.createDatabase();
    });
    afterEach(async () => {
      await Promise.all(running.map((server) => server.kill()));
      running = [];
    });
    after(async () => {
      await database?.drop();
    });

    test('grants and revokes acknowledged right before SIGKILL are all there after a restart', async () => {
      let { server, api } = await start();
      const [owner, a, b, c, d] = (await createProjects(api, 5)) as [string, string, string, string, string];
      const checkpoint = uniqueCheckpoint();
      await registerCheckpoint(api, checkpoint, owner);

      // One project, then several in one request, each followed at once by kill -9.
      const first = ok(await api('POST', permissionsPath(checkpoint), { project_ids: [a] }), 'grant').data;
      await server.kill();
      ({ server, api } = await start());
      assert.deepEqual(await listAll(api, checkpoint), first);
      await assertAuditMatches(api, checkpoint);

      const more = ok(await api('POST', permissionsPath(checkpoint), { project_ids: [c, b, d] }), 'grant').data;
      await server.kill();
      ({ server, api } = await start());
      assert.deepEqual(await listAll(api, checkpoint), [...first, ...more]);

      // A revoke acknowledged just before the kill stays revoked.
      const revoked = ok(await api('DELETE', `${permissionsPath(checkpoint)}/${more[1].id}`), 'revoke');
      assert.equal(revoked.deleted, true);
      await server.kill();
      ({ server, api } = await start());
      assert.deepEqual(await listAll(api, checkpoint), [first[0], more[0], more[2]]);
      await assertAuditMatches(api, checkpoint);
      assert.equal(await server.stop(), 0);
    });

    test('a burst of 50 concurrent grants, killed right after the last 200, is all there', async () => {
      let { server, api } = await start();
      const [owner, ...projects] = (await createProjects(api, 51)) as [string, ...string[]];
      const checkpoint = uniqueCheckpoint();
      await registerCheckpoint(api, checkpoint, owner);

      const replies = await Promise.all(
        projects.map((project) => api('POST', permissionsPath(checkpoint), { project_ids: [project] })),
      );
      await server.kill();
      const acknowledged = replies.map((reply) => ok(reply, 'grant').data[0] as Permission);

      ({ server, api } = await start());
      const listed = await listAll(api, checkpoint);
      const byId = (list: Permission[]) => [...list].sort((x, y) => x.id.localeCompare(y.id));
      assert.equal(listed.length, 50);
      assert.deepEqual(byId(listed), byId(acknowledged), 'every acknowledged permission, ids and created_at');
      await assertAuditMatches(api, checkpoint);
      assert.equal(await server.stop(), 0);
    });

    test('killed in the middle of a burst: every grant acknowledged before the kill is there', async () => {
      let { server, api } = await start();
      const [owner, ...projects] = (await createProjects(api, 51)) as [string, ...string[]];
      const checkpoint = uniqueCheckpoint();
      await registerCheckpoint(api, checkpoint, owner);

      const acknowledged: Permission[] = [];
      let killed: Promise<void> | undefined;
      const attempts = projects.map((project) =>
        api('POST', permissionsPath(checkpoint), { project_ids: [project] }).then((reply) => {
          acknowledged.push(ok(reply, 'grant').data[0]);
          if (acknowledged.length === 25) killed = server.kill();
        }),
      );
      const settled = await Promise.allSettled(attempts);
      await killed;
      assert.ok(acknowledged.length >= 25, `${acknowledged.length} acknowledged`);
      for (const outcome of settled) {
        // A request cut off by the kill fails as a connection error, never as an HTTP error.
        if (outcome.status === 'rejected') assert.ok(outcome.reason instanceof TypeError, String(outcome.reason));
      }

      ({ server, api } = await start());
      const listed = new Map((await listAll(api, checkpoint)).map((p) => [p.id, p]));
      for (const permission of acknowledged) {
        assert.deepEqual(listed.get(permission.id), permission, `acknowledged ${permission.id} survived`);
      }
      for (const permission of listed.values()) assert.ok(projects.includes(permission.project_id));
      // Grants cut off by the kill: committed with their event, or not at all.
      await assertAuditMatches(api, checkpoint);
      assert.equal(await server.stop(), 0);
    });

    test('SIGTERM lets in-flight requests finish with 200, then the process exits 0', async () => {
      let { server, api } = await start(['--log-level', 'info']);
      const [owner, ...projects] = (await createProjects(api, 11)) as [string, ...string[]];
      const checkpoint = uniqueCheckpoint();
      await registerCheckpoint(api, checkpoint, owner);

      const keepAlive = new http.Agent({ keepAlive: true });
      try {
        // Half on connections that close after the answer, half on keep-alive ones.
        const held = projects.map((project, i) =>
          heldGrant(server.baseURL, adminKey, checkpoint, [project], i % 2 === 0 ? false : keepAlive),
        );
        await Promise.all(held.map((h) => h.accepted));

        const exitCode = server.stop();
        await outputMatching(server, /draining in-flight requests/);
        const answers = await Promise.all(held.map((h) => h.finish()));
        for (const answer of answers) assert.equal(answer.status, 200, JSON.stringify(answer.body));
        assert.equal(await exitCode, 0, server.output());

        ({ server, api } = await start());
        const listed = await listAll(api, checkpoint);
        const byId = (list: Permission[]) => [...list].sort((x, y) => x.id.localeCompare(y.id));
        assert.deepEqual(byId(listed), byId(answers.map((answer) => answer.body.data[0] as Permission)));
        assert.equal(await server.stop(), 0);
      } finally {
        keepAlive.destroy();
      }
    });
  });
}
