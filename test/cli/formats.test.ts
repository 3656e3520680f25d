import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { InvalidArgumentError } from 'commander';
import fc from 'fast-check';
import { csvField, csvRecord } from '../../src/cli/csv.ts';
import { CliError } from '../../src/cli/exit.ts';
import { colorEnabled, Printer, printTable } from '../../src/cli/output.ts';
import { unixTime } from '../../src/cli/parse.ts';
import { batches, SECTIONS, type StateDocument } from '../../src/cli/state-batches.ts';
import { StateScanner } from '../../src/cli/state-scan.ts';

/** The CLI's formats in-process: CSV fields, tables, colour rules, times, import batches, export scanning. */

const capture = (isTTY = false, env: Record<string, string> = {}) => {
  let text = '';
  const printer = new Printer({ write: (t: string) => (text += t), isTTY, hasColors: () => true }, env);
  return { printer, text: () => text };
};

describe('CLI formats', () => {
  test('CSV fields are quoted exactly when RFC 4180 needs it', () => {
    assert.equal(csvField('plain text'), 'plain text');
    assert.equal(csvField(' spaces kept '), ' spaces kept ');
    assert.equal(csvField('a,b'), '"a,b"');
    assert.equal(csvField('say "hi"'), '"say ""hi"""');
    assert.equal(csvField('two\nlines'), '"two\nlines"');
    assert.equal(csvField('cr\r'), '"cr\r"');
    assert.equal(csvField('=SUM(A1)'), '=SUM(A1)', 'values are never altered');
    assert.equal(csvField(null), '');
    assert.equal(csvField(undefined), '');
    assert.equal(csvField(42), '42');
    assert.equal(csvRecord(['a', null, 'b,c']), 'a,,"b,c"\r\n');
  });

  test('tables: upper-case headers, aligned columns, no trailing blanks, control characters shown not obeyed', () => {
    const out = capture();
    printTable(
      out.printer,
      [
        { id: 'proj_1', name: 'short' },
        { id: 'proj_22', name: 'evil\u001b[31mred' },
      ],
      [
        { header: 'id', value: (r) => r.id },
        { header: 'name', value: (r) => r.name },
      ],
    );
    assert.equal(out.text(), 'ID       NAME\nproj_1   short\nproj_22  evil\\u001b[31mred\n');
  });

  test('colour only on a terminal that takes it, and never with NO_COLOR set and not empty', () => {
    const tty = { write: () => true, isTTY: true, hasColors: () => true };
    assert.equal(colorEnabled(tty, {}), true);
    assert.equal(colorEnabled(tty, { NO_COLOR: '1' }), false);
    assert.equal(colorEnabled(tty, { NO_COLOR: '' }), true, 'an empty NO_COLOR does not count (no-color.org)');
    assert.equal(colorEnabled({ ...tty, isTTY: false }, {}), false);
    assert.equal(colorEnabled({ ...tty, hasColors: () => false }, {}), false);
  });

  test('times: Unix seconds or ISO 8601 (a date, or a date-time in UTC unless it says otherwise)', () => {
    assert.equal(unixTime('1735689600'), 1735689600);
    assert.equal(unixTime('2025-01-01'), 1735689600);
    assert.equal(unixTime('2025-01-01T00:00:30'), 1735689630);
    assert.equal(unixTime('2025-01-01T01:00:00+01:00'), 1735689600);
    assert.throws(() => unixTime('yesterday'), InvalidArgumentError);
    assert.throws(() => unixTime('2025-13-45'), InvalidArgumentError);
  });

  test('import batches: each under the limit, every record once, in dependency order', () => {
    fc.assert(
      fc.property(
        fc.record(
          Object.fromEntries(
            SECTIONS.map((s) => [
              s,
              fc.array(fc.record({ id: fc.string({ maxLength: 40 }), n: fc.nat() }, { noNullPrototype: true }), {
                maxLength: 30,
              }),
            ]),
          ),
        ),
        fc.integer({ min: 200, max: 2000 }),
        (doc, limit) => {
          const sent: Record<string, unknown[]> = {};
          const order: string[] = [];
          for (const batch of batches(doc as StateDocument, limit)) {
            assert.ok(Buffer.byteLength(batch.json) <= limit, `${Buffer.byteLength(batch.json)} > ${limit}`);
            assert.equal(Buffer.byteLength(batch.json), batch.bytes);
            const body = JSON.parse(batch.json);
            assert.equal(body.ftshare_state, 1);
            let records = 0;
            for (const [key, value] of Object.entries(body)) {
              if (key === 'ftshare_state') continue;
              order.push(key);
              sent[key] = [...(sent[key] ?? []), ...(value as unknown[])];
              records += (value as unknown[]).length;
            }
            assert.equal(records, batch.records);
          }
          for (const s of SECTIONS) assert.deepEqual(sent[s] ?? [], (doc as Record<string, unknown[]>)[s]);
          const ranks = order.map((key) => SECTIONS.indexOf(key as (typeof SECTIONS)[number]));
          assert.deepEqual(
            ranks,
            [...ranks].sort((a, b) => a - b),
            'sections never go back',
          );
        },
      ),
      { numRuns: 200 },
    );
    assert.throws(
      () => [...batches({ projects: [{ name: 'x'.repeat(500) }] }, 300)],
      (error: unknown) => error instanceof CliError && /more than one request may hold/.test(error.message),
    );
  });

  test('the export scanner counts records across any chunking, and knows a cut-off document', () => {
    const doc = {
      ftshare_state: 1,
      organization: { id: 'org', name: 'a {tricky} "name" [x]', created_at: 1 },
      projects: [
        { id: 'p1', name: 'with \\"escapes\\" and } ]' },
        { id: 'p2', name: '[' },
      ],
      permissions: [{ id: 'cp_1', nested: { a: [1, { b: 2 }] } }],
      audit_events: [],
    };
    const bytes = Buffer.from(`${JSON.stringify(doc)}\n`);
    for (const size of [1, 2, 3, 7, 64, bytes.length]) {
      const scanner = new StateScanner();
      for (let i = 0; i < bytes.length; i += size) scanner.feed(bytes.subarray(i, i + size));
      assert.equal(scanner.complete, true, `chunks of ${size}`);
      assert.deepEqual(Object.fromEntries(scanner.counts), { projects: 2, permissions: 1 });
      assert.equal(scanner.total, 3);
      assert.equal(scanner.bytes, bytes.length);
    }
    const cut = new StateScanner();
    cut.feed(bytes.subarray(0, bytes.length - 3));
    assert.equal(cut.complete, false);
    const other = new StateScanner();
    other.feed(Buffer.from('{"error":{"message":"x"}}'));
    assert.equal(other.complete, false, 'not a state document');
  });
});
