import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type CliServer, startCliServer } from '../support/cli.ts';
import { createProjects, jsonClient, ok } from '../support/remote.ts';

/**
 * `ftshare export` and `ftshare import`: an organization's whole state out of one server and into a
 * fresh one, ids and timestamps kept, split into many requests; importing again inserts nothing.
 */

const SECTIONS = [
  'projects',
  'service_accounts',
  'api_keys',
  'checkpoints',
  'permissions',
  'model_permissions',
  'audit_events',
] as const;

type Doc = Record<string, unknown> & Record<(typeof SECTIONS)[number], Array<Record<string, unknown>>>;

const keyOf = (record: Record<string, unknown>) => String(record.id ?? record.name ?? record.project_id);

describe('ftshare export and import', () => {
  let source: CliServer;
  let target: CliServer;
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ftshare-state-'));
    [source, target] = await Promise.all([startCliServer(), startCliServer()]);
    // A little of everything, through the API.
    const api = jsonClient(source.server.baseURL, source.adminKey);
    const [owner = '', ...grantees] = await createProjects(api, 30, 'state');
    const checkpoint = 'ft:gpt-4o-mini-2024-07-18:acme:state:Q1w2E3r4';
    ok(
      await api('POST', '/fine_tuning/checkpoints', { fine_tuned_model_checkpoint: checkpoint, project_id: owner }),
      'register',
    );
    ok(await api('POST', `/fine_tuning/checkpoints/${checkpoint}/permissions`, { project_ids: grantees }), 'grant');
    ok(await api('POST', `/organization/projects/${owner}/service_accounts`, { name: 'deployer' }), 'service account');
    ok(
      await api('POST', `/organization/projects/${grantees[0]}/model_permissions`, {
        mode: 'deny_list',
        model_ids: ['gpt-4o'],
      }),
      'model permissions',
    );
    ok(await api('POST', `/organization/projects/${grantees[1]}/archive`), 'archive');
  });
  after(async () => {
    await Promise.all([source?.stop(), target?.stop()]);
    await rm(dir, { recursive: true, force: true });
  });

  test('export, import into a fresh server in many small requests, export again: the same records', async () => {
    const file = join(dir, 'state.json');
    const exported = await source.cli(['export', '--output', file]);
    assert.equal(exported.code, 0, exported.stderr);
    assert.equal(exported.stdout, '');
    assert.match(
      exported.stderr,
      /^exported \d+ records \(30 projects, 1 service accounts, \d+ api keys, 1 checkpoints, 29 permissions, 1 model permissions, \d+ audit events\), [\d.]+ KiB to /,
    );
    assert.equal((await stat(file)).mode & 0o777, 0o600, 'a backup holds key hashes: owner only');
    const doc = JSON.parse(await readFile(file, 'utf8')) as Doc;
    assert.equal(doc.ftshare_state, 1);

    // 4 KiB requests: dozens of them, sections split across requests.
    const imported = await target.cli(['import', file, '--batch-bytes', '4096']);
    assert.equal(imported.code, 0, imported.stderr);
    const rows = imported.stdout.trimEnd().split('\n');
    assert.match(rows[0] ?? '', /^SECTION +INSERTED +SKIPPED$/);
    for (const section of SECTIONS) {
      assert.ok(rows.includes(`${section.padEnd(17)}  ${String(doc[section].length).padEnd(8)}  0`), imported.stdout);
    }

    const copy = JSON.parse((await target.cli(['export'])).stdout) as Doc;
    for (const section of SECTIONS) {
      const copied = new Map(copy[section].map((r) => [keyOf(r), r]));
      for (const record of doc[section]) {
        assert.deepEqual(copied.get(keyOf(record)), record, `${section} ${keyOf(record)}: same id, same timestamps`);
      }
    }
    // The target's own admin key is there too, and nothing else was added.
    assert.equal(copy.api_keys.length, doc.api_keys.length + 1);
    assert.equal(copy.projects.length, doc.projects.length);

    // The source's admin key works on the target: keys moved with their hashes.
    const moved = await target.cli(['projects', 'list', '--json'], { FTSHARE_ADMIN_KEY: source.adminKey });
    assert.equal(moved.code, 0, moved.stderr);
    assert.equal(JSON.parse(moved.stdout).length, 29, 'the archived project is listed with -a only');
  });

  test('importing the same document again inserts nothing (stdin, --json)', async () => {
    const document = (await source.cli(['export'])).stdout;
    const again = await target.cli(['import', '-', '--json'], {}, document);
    assert.equal(again.code, 0, again.stderr);
    const result = JSON.parse(again.stdout);
    assert.equal(result.object, 'organization.import');
    const doc = JSON.parse(document) as Doc;
    for (const section of SECTIONS) {
      assert.equal(result.inserted[section], 0, section);
      assert.equal(result.skipped[section], doc[section].length, section);
    }
  });

  test('a file that is not a state document is exit 2, and nothing is sent', async () => {
    const bad = join(dir, 'bad.json');
    await writeFile(bad, JSON.stringify({ ftshare_state: 1, projects: [], users: [] }));
    const unknown = await target.cli(['import', bad]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown section `users`/);
    await writeFile(bad, '{"ftshare_state":1,');
    const truncated = await target.cli(['import', bad]);
    assert.equal(truncated.code, 2);
    assert.match(truncated.stderr, /is not JSON/);
    const missing = await target.cli(['import', join(dir, 'missing.json')]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /cannot read .*missing\.json/);
  });
});
