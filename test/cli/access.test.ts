import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type CliServer, startCliServer } from '../support/cli.ts';
import { createProjects, type JsonClient, jsonClient, ok } from '../support/remote.ts';

/**
 * `ftshare checkpoints|grant|revoke|permissions|models|check` against a real server: the registry
 * through fetch, permissions through the SDK (its paging included), and access with its reasons.
 */

const CHECKPOINT = 'ft:gpt-4o-mini-2024-07-18:acme:weather:B7R9VjQd';
const BASE_MODEL = 'gpt-4o-mini';

describe('ftshare checkpoints and access', () => {
  let s: CliServer;
  let api: JsonClient;
  let owner: string;
  let reader: string;
  let other: string;

  before(async () => {
    s = await startCliServer({ args: ['--base-models', BASE_MODEL] });
    api = jsonClient(s.server.baseURL, s.adminKey);
    [owner = '', reader = '', other = ''] = await createProjects(api, 3, 'access');
  });
  after(async () => s?.stop());

  test('checkpoints register, list, show and delete; an unknown one is exit 4', async () => {
    const registered = await s.json(['checkpoints', 'register', CHECKPOINT, '--project', owner]);
    assert.deepEqual(
      { ...registered, created_at: 0 },
      { object: 'fine_tuning.checkpoint', id: CHECKPOINT, project_id: owner, created_at: 0 },
    );
    const scratch = `${CHECKPOINT}:ckpt-step-88`;
    await s.json(['checkpoints', 'register', scratch, '--project', reader]);

    const list = await s.cli(['checkpoints', 'list']);
    assert.equal(list.code, 0, list.stderr);
    const lines = list.stdout.trimEnd().split('\n');
    assert.match(lines[0] ?? '', /^CHECKPOINT +OWNER +CREATED$/);
    assert.match(lines[1] ?? '', new RegExp(`^${CHECKPOINT} +${owner} +\\d{4}-`));
    assert.equal(lines.length, 3);
    assert.deepEqual(
      (await s.json(['checkpoints', 'list', '--project', reader])).map((c: { id: string }) => c.id),
      [scratch],
    );
    assert.deepEqual(await s.json(['checkpoints', 'show', CHECKPOINT]), registered);
    const shown = await s.cli(['checkpoints', 'show', scratch]);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, new RegExp(`^checkpoint {2}${scratch}\nowner {7}${reader}\ncreated {5}\\d{4}-`));

    const deleted = await s.cli(['checkpoints', 'delete', scratch]);
    assert.deepEqual([deleted.code, deleted.stdout], [0, `deleted ${scratch}\n`]);
    const unregistered = await s.cli(['checkpoints', 'delete', CHECKPOINT.replace('weather', 'gone')]);
    assert.equal(unregistered.code, 4, 'an unregistered checkpoint');
    const missing = await s.cli(['checkpoints', 'show', scratch]);
    assert.equal(missing.code, 4);
    assert.equal(
      missing.stderr.split(' (')[0],
      `ftshare: The model \`${scratch}\` does not exist or you do not have access to it.`,
    );
  });

  test('grant: a table of the permissions, the same ones again; a bad project is exit 1 naming it', async () => {
    const granted = await s.cli(['grant', CHECKPOINT, reader, other]);
    assert.equal(granted.code, 0, granted.stderr);
    const rows = granted.stdout.trimEnd().split('\n');
    assert.match(rows[0] ?? '', /^ID +PROJECT +CREATED$/);
    assert.match(rows[1] ?? '', new RegExp(`^cp_\\w{24} +${reader} +`));
    assert.match(rows[2] ?? '', new RegExp(`^cp_\\w{24} +${other} +`));

    const again = await s.json(['grant', CHECKPOINT, reader]);
    assert.equal(again.length, 1);
    assert.equal(again[0].id, rows[1]?.split(/ +/)[0], 'granting again returns the existing permission');

    const refused = await s.cli(['grant', CHECKPOINT, 'proj_nope']);
    assert.equal(refused.code, 1);
    assert.equal(refused.stdout, '');
    assert.match(refused.stderr, /^ftshare: .*proj_nope.* \(400 project_not_found, request req_\w+\)\n$/);
  });

  test('permissions lists every page; revoke by id and by project; nothing to revoke is exit 4', async () => {
    const checkpoint = `${CHECKPOINT}:many`;
    ok(
      await api('POST', '/fine_tuning/checkpoints', { fine_tuned_model_checkpoint: checkpoint, project_id: owner }),
      'register',
    );
    // 105 grantees: more than one page of the server's largest (100).
    const grantees = await createProjects(api, 105, 'grantee');
    for (let i = 0; i < grantees.length; i += 100) {
      ok(
        await api('POST', `/fine_tuning/checkpoints/${checkpoint}/permissions`, {
          project_ids: grantees.slice(i, i + 100),
        }),
        'grant',
      );
    }
    const listed = await s.json(['permissions', checkpoint]);
    assert.deepEqual(
      listed.map((p: { project_id: string }) => p.project_id),
      grantees,
      'oldest first, every page',
    );
    const newest = await s.json(['permissions', checkpoint, '--order', 'descending', '--project', grantees[0] ?? '']);
    assert.deepEqual(newest, [listed[0]]);
    const table = await s.cli(['permissions', checkpoint, '--order', 'descending']);
    assert.equal(table.code, 0, table.stderr);
    const lines = table.stdout.trimEnd().split('\n');
    assert.match(lines[0] ?? '', /^ID +PROJECT +CREATED$/);
    assert.equal(lines.length, 106);
    assert.ok(lines[1]?.startsWith(`${listed[104].id}  ${listed[104].project_id}  `), 'newest first');

    const first = listed[0];
    const second = listed[1];
    const byId = await s.cli(['revoke', checkpoint, first.id]);
    assert.deepEqual([byId.code, byId.stdout, byId.stderr], [0, `revoked ${first.id}\n`, '']);
    const byProject = await s.json(['revoke', checkpoint, '--project', second.project_id]);
    assert.deepEqual(byProject, [{ object: 'checkpoint.permission', id: second.id, deleted: true }]);
    assert.equal((await s.json(['permissions', checkpoint])).length, 103);

    const none = await s.cli(['revoke', checkpoint, '--project', second.project_id]);
    assert.equal(none.code, 4);
    assert.equal(none.stderr, `ftshare: project ${second.project_id} has no permission on ${checkpoint}\n`);
    const twice = await s.cli(['revoke', checkpoint, first.id]);
    assert.equal(twice.code, 4);
    const nothing = await s.cli(['revoke', checkpoint]);
    assert.equal(nothing.code, 2);
    assert.match(nothing.stderr, /name a permission id or a project/);
  });

  test('models --project: every model of the organization, allowed or not, and why', async () => {
    const result = await s.cli(['models', '--project', reader]);
    assert.equal(result.code, 0, result.stderr);
    const rows = result.stdout.trimEnd().split('\n');
    assert.match(rows[0] ?? '', /^MODEL +OWNED_BY +ALLOWED +REASON$/);
    assert.ok(
      rows.some((r) => new RegExp(`^${BASE_MODEL} +system +yes +base$`).test(r)),
      result.stdout,
    );
    assert.ok(
      rows.some((r) => new RegExp(`^${CHECKPOINT} +\\S+ +yes +shared$`).test(r)),
      result.stdout,
    );
    assert.ok(
      rows.some((r) => /^ft:\S+:many +\S+ +no +not_shared$/.test(r)),
      result.stdout,
    );

    const allowed = await s.json(['models', '--project', reader, '--allowed']);
    assert.deepEqual(allowed.map((a: { model: string; reason: string }) => [a.model, a.reason]).sort(), [
      [CHECKPOINT, 'shared'],
      [BASE_MODEL, 'base'],
    ]);
    assert.deepEqual(Object.keys(allowed[0]).sort(), ['allowed', 'model', 'object', 'project_id', 'reason']);

    const unknown = await s.cli(['models', '--project', 'proj_nope']);
    assert.equal(unknown.code, 4);
  });

  test('check: exit 0 when every model is allowed, 5 when one is not, with the reasons', async () => {
    const yes = await s.cli(['check', reader, CHECKPOINT, BASE_MODEL]);
    assert.equal(yes.code, 0, yes.stderr);
    assert.match(yes.stdout, new RegExp(`^${CHECKPOINT} +yes +shared$`, 'm'));

    const no = await s.cli(['check', owner, CHECKPOINT, 'ft:unknown:model', '--json']);
    assert.equal(no.code, 5, no.stderr);
    assert.deepEqual(
      JSON.parse(no.stdout).map((a: { model: string; allowed: boolean; reason: string }) => [
        a.model,
        a.allowed,
        a.reason,
      ]),
      [
        [CHECKPOINT, true, 'owner'],
        ['ft:unknown:model', false, 'model_not_found'],
      ],
    );
  });
});
