import { CliError, EXIT } from './exit.ts';

/**
 * Splitting a state document into import requests: each body a state document of its own, under
 * the byte limit, with the sections in dependency order (a permission's checkpoint and projects
 * are sent before it, in the same request or an earlier one). Records are serialised once and
 * never reordered, so a second import of the same document sends the same requests.
 */

/** The document's sections, in the order the server inserts them. */
export const SECTIONS = [
  'projects',
  'service_accounts',
  'api_keys',
  'checkpoints',
  'permissions',
  'model_permissions',
  'audit_events',
] as const;

export type Section = (typeof SECTIONS)[number];
export type Counts = Record<Section, number>;
export type StateDocument = { ftshare_state?: 1; organization?: unknown } & Partial<Record<Section, unknown[]>>;

/** The server's bound on the records of one section in one request. */
const MAX_RECORDS_PER_SECTION = 100_000;

export type Batch = { json: string; bytes: number; records: number };

const HEAD = '{"ftshare_state":1';
const TAIL = '}';

/**
 * The requests, each at most `limit` bytes of UTF-8. The organization header is not sent: records
 * go into the organization of the admin key that imports them.
 */
export function* batches(doc: StateDocument, limit: number): Generator<Batch> {
  let parts: string[] = [];
  let bytes = HEAD.length + TAIL.length;
  let records = 0;
  let open: Section | null = null;
  let inSection = 0;

  const flush = (): Batch => {
    if (open !== null) parts.push(']');
    const batch = { json: `${HEAD}${parts.join('')}${TAIL}`, bytes, records };
    parts = [];
    bytes = HEAD.length + TAIL.length;
    records = 0;
    open = null;
    inSection = 0;
    return batch;
  };

  for (const section of SECTIONS) {
    const opening = `,"${section}":[`;
    for (const record of doc[section] ?? []) {
      const text = JSON.stringify(record);
      const size = Buffer.byteLength(text);
      // Opening a section costs its key and both brackets; another record in it, a comma.
      const cost = () => (open === section ? 1 : opening.length + 1) + size;
      if (records > 0 && (bytes + cost() > limit || (open === section && inSection >= MAX_RECORDS_PER_SECTION))) {
        yield flush();
      }
      if (bytes + cost() > limit) {
        throw new CliError(
          `a record of \`${section}\` is ${size} bytes: more than one request may hold (${limit} bytes)`,
          EXIT.usage,
        );
      }
      bytes += cost();
      if (open !== section) {
        if (open !== null) parts.push(']');
        parts.push(opening, text);
        open = section;
        inSection = 0;
      } else {
        parts.push(',', text);
      }
      records++;
      inSection++;
    }
  }
  if (records > 0) yield flush();
}
