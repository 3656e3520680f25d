import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type CliServer, startCliServer } from '../support/cli.ts';
import { createProjects, type JsonClient, jsonClient, ok } from '../support/remote.ts';

/**
 * `ftshare audit`: OpenAI's filters, paging both ways, and the compliance exports — CSV as RFC 4180
 * has it (read back here by a strict parser) and JSON Lines — of every matching event.
 */

const COLUMNS = [
  'id',
  'type',
  'effective_at',
  'effective_at_iso',
  'project_id',
  'project_name',
  'actor_type',
  'actor_api_key_id',
  'actor_api_key_type',
  'actor_principal_id',
  'resource_id',
  'details',
];

/** RFC 4180, strictly: CRLF after every record, quotes only around whole fields, `""` inside them. */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let i = 0;
  while (i < text.length) {
    let field = '';
    if (text[i] === '"') {
      i++;
      for (;;) {
        const quote = text.indexOf('"', i);
        assert.ok(quote >= 0, 'an unterminated quoted field');
        field += text.slice(i, quote);
        i = quote + 1;
        if (text[i] !== '"') break;
        field += '"';
        i++;
      }
    } else {
      const end = text.slice(i).search(/[,\r\n"]/);
      field = end < 0 ? text.slice(i) : text.slice(i, i + end);
      assert.notEqual(text[i + field.length], '"', 'a quote inside an unquoted field');
      i += field.length;
    }
    record.push(field);
    if (text[i] === ',') i++;
    else {
      assert.equal(text.slice(i, i + 2), '\r\n', `a record must end in CRLF at ${i}`);
      i += 2;
      records.push(record);
      record = [];
    }
  }
  return records;
}

type Event = { id: string; type: string; effective_at: number; project?: { id: string; name: string | null } };

describe('ftshare audit', () => {
  let s: CliServer;
  let api: JsonClient;
  /** Every event, newest first, as the API lists them. */
  let events: Event[];
  const tricky = 'Ops, "night" team\nsecond line';
  let trickyId: string;

  before(async () => {
    s = await startCliServer();
    api = jsonClient(s.server.baseURL, s.adminKey);
    trickyId = ok(await api('POST', '/organization/projects', { name: tricky }), 'project').id;
    // More events than one page of the largest size (100): exports must follow the cursor.
    await createProjects(api, 110, 'audited');
    events = [];
    let after: string | undefined;
    for (;;) {
      const page = ok(await api('GET', `/organization/audit_logs?limit=100${after ? `&after=${after}` : ''}`), 'audit');
      events.push(...page.data);
      if (!page.has_more) break;
      after = page.last_id;
    }
    assert.ok(events.length > 110);
  });
  after(async () => s?.stop());

  test('a table of the newest 20 by default, and a note on stderr that there are more', async () => {
    const result = await s.cli(['audit']);
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stdout.trimEnd().split('\n');
    assert.match(lines[0] ?? '', /^ID +TIME +TYPE +PROJECT +ACTOR +RESOURCE$/);
    assert.equal(lines.length, 21);
    assert.ok(lines[1]?.startsWith(`${events[0]?.id} `));
    assert.match(
      result.stderr,
      new RegExp(`more events: add --all or --limit, or --after ${events[19]?.id} for the next page`),
    );
  });

  test('--format csv: every event, RFC 4180, the documented columns, values exactly as the log has them', async () => {
    const result = await s.cli(['audit', '--format', 'csv']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, `exported ${events.length} audit events\n`);
    const [header, ...rows] = parseCsv(result.stdout);
    assert.deepEqual(header, COLUMNS);
    assert.deepEqual(
      rows.map((r) => r[0]),
      events.map((e) => e.id),
    );
    for (const row of rows) assert.equal(row.length, COLUMNS.length);

    const created = rows.find((r) => r[1] === 'project.created' && r[4] === trickyId);
    assert.ok(created);
    const field = (name: string) => created[COLUMNS.indexOf(name)];
    assert.equal(field('project_name'), tricky, 'commas, quotes and line breaks survive');
    assert.equal(field('resource_id'), trickyId);
    assert.equal(field('actor_type'), 'api_key');
    assert.match(field('actor_api_key_id') ?? '', /^key_/);
    assert.equal(new Date(field('effective_at_iso') ?? '').getTime() / 1000, Number(field('effective_at')));
    assert.equal(JSON.parse(field('details') ?? '').id, trickyId);
  });

  test('--format jsonl: one API event per line; filters narrow it; an empty range is a header or nothing', async () => {
    const all = await s.cli(['audit', '--format', 'jsonl']);
    assert.equal(all.code, 0, all.stderr);
    const lines = all.stdout.split('\n');
    assert.equal(lines.pop(), '', 'every line ends in a newline');
    assert.deepEqual(
      lines.map((line) => JSON.parse(line)),
      events,
    );

    const filtered = await s.cli(['audit', '--format', 'jsonl', '--type', 'project.created', '--project', trickyId]);
    assert.equal(filtered.code, 0, filtered.stderr);
    const only = filtered.stdout
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line));
    assert.deepEqual(
      only.map((e: Event) => [e.type, e.project?.id, e.project?.name]),
      [['project.created', trickyId, tricky]],
    );
    const byResource = await s.json(['audit', '--resource', trickyId, '--all']);
    assert.deepEqual(byResource, only);

    const newest = Math.max(...events.map((e) => e.effective_at));
    const oldest = Math.min(...events.map((e) => e.effective_at));
    const later = ['--effective-at-gt', String(newest)];
    const csv = await s.cli(['audit', '--format', 'csv', ...later]);
    assert.deepEqual([csv.code, csv.stdout], [0, `${COLUMNS.join(',')}\r\n`]);
    const table = await s.cli(['audit', ...later]);
    assert.deepEqual([table.code, table.stdout, table.stderr], [0, '', 'no audit events\n']);
    const range = await s.json(['audit', '--all', '--since', '1970-01-01', '--until', String(newest + 1)]);
    assert.equal(range.length, events.length);
    assert.deepEqual(await s.json(['audit', '--all', '--until', String(oldest)]), []);
  });

  test('--after and --before page from an event, older and newer', async () => {
    const pivot = events[30] as Event;
    const older = await s.json(['audit', '--after', pivot.id, '--limit', '5']);
    assert.deepEqual(older, events.slice(31, 36));
    const newer = await s.json(['audit', '--before', pivot.id, '--all']);
    assert.deepEqual(newer, events.slice(0, 30), 'newest first, every page');
    const nearest = await s.json(['audit', '--before', pivot.id, '--limit', '3']);
    assert.deepEqual(nearest, events.slice(27, 30), 'the 3 just newer than the cursor');
    const unknown = await s.cli(['audit', '--after', 'audit_log-nope']);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /\(400 \w+, request/);
  });
});
