import type { Static } from '@sinclair/typebox';
import type * as A from '../http/schemas-audit.ts';
import { type CsvValue, csvRecord } from './csv.ts';
import { type Column, isoTime } from './output.ts';

/**
 * How an audit event is flattened for `ftshare audit --format csv` and the table. The CSV columns
 * are a stable interface (compliance tooling reads them by position): new columns may only ever be
 * added at the end. Documented in the README ("Audit log export").
 */

export type AuditEvent = Static<typeof A.AuditLog> & Record<string, unknown>;

/** The event's own details: OpenAI puts them under a key named after the event's type. */
export const detailsOf = (event: AuditEvent): unknown => event[event.type];

/** The changed object's id (what `--resource` matches): every ftshare payload carries it as `id`. */
export function resourceOf(event: AuditEvent): string | null {
  const details = detailsOf(event);
  const id = typeof details === 'object' && details !== null ? (details as { id?: unknown }).id : undefined;
  return typeof id === 'string' ? id : null;
}

function principalOf(event: AuditEvent): string | null {
  const key = event.actor?.api_key;
  return key?.user?.id ?? key?.service_account?.id ?? null;
}

export const CSV_COLUMNS: ReadonlyArray<readonly [string, (event: AuditEvent) => CsvValue]> = [
  ['id', (e) => e.id],
  ['type', (e) => e.type],
  ['effective_at', (e) => e.effective_at],
  ['effective_at_iso', (e) => isoTime(e.effective_at)],
  ['project_id', (e) => e.project?.id],
  ['project_name', (e) => e.project?.name],
  ['actor_type', (e) => e.actor?.type],
  ['actor_api_key_id', (e) => e.actor?.api_key.id],
  ['actor_api_key_type', (e) => e.actor?.api_key.type],
  ['actor_principal_id', principalOf],
  ['resource_id', resourceOf],
  ['details', (e) => (detailsOf(e) === undefined ? null : JSON.stringify(detailsOf(e)))],
];

export const csvHeader = () => csvRecord(CSV_COLUMNS.map(([name]) => name));
export const csvRow = (event: AuditEvent) => csvRecord(CSV_COLUMNS.map(([, value]) => value(event)));

export const TABLE_COLUMNS: Column<AuditEvent>[] = [
  { header: 'id', value: (e) => e.id },
  { header: 'time', value: (e) => isoTime(e.effective_at) },
  { header: 'type', value: (e) => e.type },
  { header: 'project', value: (e) => e.project?.id },
  { header: 'actor', value: (e) => e.actor?.api_key.id },
  { header: 'resource', value: resourceOf },
];
