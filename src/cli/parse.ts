import { InvalidArgumentError } from 'commander';

/** Flag value parsers: a bad value is commander's usage error (exit 2), naming what is accepted. */

export function positiveInt(max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1 || n > max) {
      throw new InvalidArgumentError(`expected a whole number from 1 to ${max}.`);
    }
    return n;
  };
}

/**
 * A point in time as Unix seconds: given as seconds (`1735689600`), or as an ISO 8601 date or
 * date-time (`2025-01-01`, `2025-01-01T12:00:00Z`; without a zone, UTC).
 */
export function unixTime(value: string): number {
  if (/^\d+$/.test(value)) {
    const n = Number(value);
    if (Number.isSafeInteger(n)) return n;
  }
  const iso = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/i.exec(value);
  if (iso) {
    // A date alone is UTC midnight in JavaScript already; a date-time without a zone would be local.
    const text = iso[1] !== undefined && iso[4] === undefined ? `${value}Z` : value;
    const ms = Date.parse(text);
    if (!Number.isNaN(ms)) return Math.floor(ms / 1000);
  }
  throw new InvalidArgumentError('expected Unix seconds or an ISO 8601 date (2025-01-31 or 2025-01-31T12:00:00Z).');
}

/**
 * Collects a repeatable flag (`--project a --project b`). No comma splitting: a checkpoint name,
 * which `--resource` takes, may contain commas.
 */
export const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];
