import * as util from 'node:util';

/**
 * What the CLI prints, and how: data on stdout (an aligned table for people, `--json` for
 * scripts), messages and errors on stderr. Colour only when the stream is a terminal that takes it
 * and `NO_COLOR` is unset or empty (https://no-color.org), so pipes, files and CI logs never see an
 * escape code.
 */

type Style = 'bold' | 'dim' | 'red' | 'green' | 'yellow' | 'cyan';

export type Stream = { write(text: string): unknown; isTTY?: boolean; hasColors?: () => boolean };

export class Printer {
  readonly color: boolean;

  constructor(
    private readonly stream: Stream,
    env: Readonly<Record<string, string | undefined>>,
  ) {
    this.color = colorEnabled(stream, env);
  }

  write(text: string): void {
    this.stream.write(text);
  }

  line(text = ''): void {
    this.stream.write(`${text}\n`);
  }

  paint(style: Style | undefined, text: string): string {
    // util.styleText is built in from Node 20.12; on an older Node, no colour rather than a failure.
    if (!this.color || style === undefined || typeof util.styleText !== 'function') return text;
    return util.styleText(style, text);
  }

  get isTTY(): boolean {
    return this.stream.isTTY === true;
  }
}

export function colorEnabled(stream: Stream, env: Readonly<Record<string, string | undefined>>): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  return stream.isTTY === true && (stream.hasColors?.() ?? false);
}

/** Control characters in server data (a project named with an escape sequence) shown, never obeyed. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;
export const visible = (text: string) =>
  text.replace(CONTROL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

export type Column<T> = {
  header: string;
  value: (row: T) => string | number | boolean | null | undefined;
  /** A style for this cell, by its row (e.g. red for `allowed: false`). */
  style?: (row: T) => Style | undefined;
};

const cellText = (value: string | number | boolean | null | undefined) =>
  value === null || value === undefined || value === '' ? '-' : visible(String(value));

/**
 * Rows as aligned columns under an upper-case header, two spaces apart; the last column is not
 * padded (no trailing blanks). Cells are padded before they are coloured, so escape codes never
 * count towards a width.
 */
export function printTable<T>(out: Printer, rows: readonly T[], columns: readonly Column<T>[]): void {
  const cells = rows.map((row) => columns.map((column) => cellText(column.value(row))));
  const headers = columns.map((column) => column.header.toUpperCase());
  const widths = columns.map((_, i) => Math.max(headers[i]?.length ?? 0, ...cells.map((row) => row[i]?.length ?? 0)));
  const last = columns.length - 1;
  const pad = (text: string, i: number) => (i === last ? text : text.padEnd(widths[i] ?? 0));
  out.line(out.paint('bold', headers.map((header, i) => pad(header, i)).join('  ')));
  rows.forEach((row, r) => {
    out.line(columns.map((column, i) => out.paint(column.style?.(row), pad(cells[r]?.[i] ?? '', i))).join('  '));
  });
}

/** One object as `field  value` lines, fields aligned. */
export function printDetails(out: Printer, fields: ReadonlyArray<readonly [string, unknown]>): void {
  const width = Math.max(...fields.map(([name]) => name.length));
  for (const [name, value] of fields) {
    const text =
      typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' || value === null
        ? cellText(value)
        : visible(JSON.stringify(value));
    out.line(`${out.paint('dim', name.padEnd(width))}  ${text}`);
  }
}

/** `--json`: the API's own objects, indented, one document per run. */
export function printJson(out: Printer, value: unknown): void {
  out.line(JSON.stringify(value, null, 2));
}

/** Unix seconds as ISO 8601 UTC, second precision: `2025-01-31T12:00:00Z`. */
export function isoTime(seconds: number | null | undefined): string | null {
  if (seconds === null || seconds === undefined) return null;
  const date = new Date(seconds * 1000);
  return Number.isNaN(date.getTime()) ? String(seconds) : date.toISOString().replace('.000Z', 'Z');
}
