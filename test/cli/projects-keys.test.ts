import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type CliServer, ESCAPE, hasScript, runCliOnTty, startCliServer } from '../support/cli.ts';

/**
 * `ftshare projects|admin-keys|service-accounts|project-keys` against a real server: tables for
 * people, `--json` for scripts, secrets printed once, errors with the server's message.
 */

/** The table's rows as arrays of cells, header first; cells are separated by two or more spaces. */
const rowsOf = (stdout: string) =>
  stdout
    .trimEnd()
    .split('\n')
    .map((line) => line.split(/ {2,}/));

/** Every line of a table starts each column at the same offset as the header does. */
function assertAligned(stdout: string, column: string) {
  const lines = stdout.trimEnd().split('\n');
  const at = lines[0]?.indexOf(column) ?? -1;
  assert.ok(at > 0, `no ${column} column in:\n${stdout}`);
  for (const line of lines.slice(1)) assert.equal(line[at - 1], ' ', `misaligned:\n${stdout}`);
  for (const line of lines.slice(1)) assert.notEqual(line[at], ' ', `misaligned:\n${stdout}`);
}

describe('ftshare projects and keys', () => {
  let s: CliServer;
  before(async () => {
    s = await startCliServer();
  });
  after(async () => s?.stop());

  test('projects create, show, list and archive, as tables and as JSON', async () => {
    const weather = await s.json(['projects', 'create', 'Weather team', '--external-key-id', 'ext-1']);
    assert.match(weather.id, /^proj_/);
    assert.equal(weather.object, 'organization.project');
    assert.equal(weather.name, 'Weather team');
    assert.equal(weather.external_key_id, 'ext-1');

    const created = await s.cli(['projects', 'create', 'Support bot']);
    assert.equal(created.code, 0, created.stderr);
    assert.equal(created.stderr, '');
    assert.match(created.stdout, /^id {2,}proj_\w+$/m);
    assert.match(created.stdout, /^name {2,}Support bot$/m);
    assert.match(created.stdout, /^status {2,}active$/m);
    const support = /^id {2,}(proj_\w+)$/m.exec(created.stdout)?.[1] ?? '';

    const list = await s.cli(['projects', 'list']);
    assert.equal(list.code, 0, list.stderr);
    const rows = rowsOf(list.stdout);
    assert.deepEqual(rows[0], ['ID', 'NAME', 'STATUS', 'CREATED', 'ARCHIVED']);
    assert.deepEqual(
      rows.slice(1).map((r) => [r[0], r[1], r[2], r[4]]),
      [
        [weather.id, 'Weather team', 'active', '-'],
        [support, 'Support bot', 'active', '-'],
      ],
    );
    assert.match(rows[1]?.[3] ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assertAligned(list.stdout, 'STATUS');
    assert.doesNotMatch(list.stdout, ESCAPE, 'no colour on a pipe');

    const archived = await s.json(['projects', 'archive', support]);
    assert.equal(archived.status, 'archived');
    assert.equal(typeof archived.archived_at, 'number');
    assert.deepEqual(
      (await s.json(['projects', 'list'])).map((p: { id: string }) => p.id),
      [weather.id],
    );
    assert.deepEqual(
      (await s.json(['projects', 'list', '--include-archived'])).map((p: { id: string }) => p.id),
      [weather.id, support],
    );
    assert.deepEqual(await s.json(['projects', 'show', weather.id]), weather);
  });

  test('a project that does not exist: exit 4 and the server’s message on stderr, nothing on stdout', async () => {
    const result = await s.cli(['projects', 'show', 'proj_nope']);
    assert.equal(result.code, 4);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /^ftshare: .*proj_nope.* \(404 not_found, request req_\w+\)\n$/);
  });

  test('a refused request (an invalid admin key): exit 1 and the server’s message', async () => {
    const result = await s.cli(['projects', 'list'], { FTSHARE_ADMIN_KEY: `sk-admin-${'x'.repeat(40)}` });
    assert.equal(result.code, 1);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /^ftshare: Incorrect API key provided: .* \(401 invalid_api_key, request req_\w+\)\n$/);
  });

  test('admin keys: the secret once on stdout, a note on stderr; list redacted; delete', async () => {
    const created = await s.cli(['admin-keys', 'create', 'ci', '--expires-in', '3600']);
    assert.equal(created.code, 0, created.stderr);
    const secret = /^key {2,}(sk-admin-\S+)$/m.exec(created.stdout)?.[1];
    assert.ok(secret, created.stdout);
    assert.match(created.stderr, /shown this once/);
    const id = /^id {2,}(key_\w+)$/m.exec(created.stdout)?.[1] ?? '';

    // The new key works: it lists the keys, redacted.
    const keys = await s.cli(['admin-keys', 'list', '--json'], { FTSHARE_ADMIN_KEY: secret });
    assert.equal(keys.code, 0, keys.stderr);
    const listed = JSON.parse(keys.stdout);
    assert.ok(listed.some((k: { id: string }) => k.id === id));
    assert.ok(!keys.stdout.includes(secret), 'a list never shows a secret');
    assert.equal(typeof listed.find((k: { id: string }) => k.id === id).expires_at, 'number');

    const table = await s.cli(['admin-keys', 'list']);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^ID +NAME +KEY +CREATED +EXPIRES +LAST_USED\n/);
    assert.match(table.stdout, new RegExp(`^${id} +ci +sk-adm\\*+\\w+ +\\S+ +\\d{4}-`, 'm'));

    const deleted = await s.cli(['admin-keys', 'delete', id]);
    assert.deepEqual([deleted.code, deleted.stdout], [0, `deleted ${id}\n`]);
    const again = await s.cli(['admin-keys', 'delete', id]);
    assert.equal(again.code, 4);
  });

  test('service accounts and their keys; project keys listed and deleted', async () => {
    const project = (await s.json(['projects', 'create', 'Keys']))?.id;
    const shown = await s.cli(['service-accounts', 'create', project, 'reader']);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /^name {2,}reader$/m);
    assert.match(shown.stdout, /^key {2,}sk-proj-\S+$/m);
    assert.match(shown.stderr, /shown this once/);
    const readerId = /^id {2,}(\S+)$/m.exec(shown.stdout)?.[1];
    const account = await s.json(['service-accounts', 'create', project, 'deployer']);
    assert.equal(account.object, 'organization.project.service_account');
    assert.match(account.api_key.value, /^sk-proj-/);

    const second = await s.json(['service-accounts', 'create-key', project, account.id, '--name', 'second']);
    assert.equal(second.name, 'second');
    assert.match(second.value, /^sk-proj-/);
    // The key is a working project key.
    const models = await fetch(`${s.server.baseURL}/models`, { headers: { authorization: `Bearer ${second.value}` } });
    assert.equal(models.status, 200);

    const accounts = await s.cli(['service-accounts', 'list', project]);
    assert.equal(accounts.code, 0, accounts.stderr);
    assert.deepEqual(rowsOf(accounts.stdout)[0], ['ID', 'NAME', 'ROLE', 'CREATED']);
    assert.match(accounts.stdout, new RegExp(`^${account.id} +deployer +member `, 'm'));
    assert.deepEqual(
      (await s.json(['service-accounts', 'list', project])).map((a: { name: string }) => a.name).sort(),
      ['deployer', 'reader'],
    );

    // Oldest first; keys made in the same second list in id order, so compare as a set.
    const keys = (await s.json(['project-keys', 'list', project])).slice(1);
    assert.deepEqual(keys.map((k: { id: string }) => k.id).sort(), [account.api_key.id, second.id].sort());
    const keyTable = await s.cli(['project-keys', 'list', project]);
    assert.match(keyTable.stdout, /^ID +NAME +KEY +SERVICE_ACCOUNT +CREATED +EXPIRES +LAST_USED\n/);
    assert.match(keyTable.stdout, new RegExp(`^${second.id} +second +sk-pro\\*+\\w+ +${account.id} `, 'm'));
    assert.ok(keys.every((k: { redacted_value: string }) => k.redacted_value.includes('*')));

    const deletedKey = await s.json(['project-keys', 'delete', project, second.id]);
    assert.deepEqual(deletedKey, { object: 'organization.project.api_key.deleted', id: second.id, deleted: true });
    const gone = await fetch(`${s.server.baseURL}/models`, { headers: { authorization: `Bearer ${second.value}` } });
    assert.equal(gone.status, 401);

    const deletedAccount = await s.cli(['service-accounts', 'delete', project, account.id]);
    assert.deepEqual([deletedAccount.code, deletedAccount.stdout], [0, `deleted ${account.id}\n`]);
    assert.deepEqual(await s.json(['service-accounts', 'delete', project, readerId ?? '']), {
      object: 'organization.project.service_account.deleted',
      id: readerId,
      deleted: true,
    });
    const none = await s.cli(['service-accounts', 'list', project]);
    assert.deepEqual([none.code, none.stdout, none.stderr], [0, '', 'no service accounts\n']);
  });

  test('colours on a terminal, never with NO_COLOR', {
    skip: !hasScript() && 'no `script` to make a terminal',
  }, async () => {
    const env = { FTSHARE_BASE_URL: s.server.baseURL, FTSHARE_ADMIN_KEY: s.adminKey };
    const coloured = await runCliOnTty(['projects', 'list', '--include-archived'], env);
    assert.equal(coloured.code, 0, coloured.stdout);
    assert.match(coloured.stdout, ESCAPE, 'a terminal gets a bold header');
    const plain = await runCliOnTty(['projects', 'list', '--include-archived'], { ...env, NO_COLOR: '1' });
    assert.equal(plain.code, 0, plain.stdout);
    assert.match(plain.stdout, /ID +NAME/);
    assert.doesNotMatch(plain.stdout, ESCAPE);
  });
});
