/**
 * CSV as RFC 4180 writes it: records end in CRLF; a field holding a comma, a double quote, CR or LF
 * is enclosed in double quotes, with each double quote inside doubled; every other field is written
 * as it is (spaces kept). A null or missing value is an empty field. Values are never altered
 * otherwise — no formula escaping — since an audit export must say exactly what the log says.
 */

export type CsvValue = string | number | boolean | null | undefined;

export function csvField(value: CsvValue): string {
  if (value === null || value === undefined) return '';
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export const csvRecord = (values: readonly CsvValue[]): string => `${values.map(csvField).join(',')}\r\n`;
