import { type Command, Option } from 'commander';
import type { AuditLogListParams } from 'openai/resources/admin/organization/audit-logs';
import { type AuditEvent, csvHeader, csvRow, TABLE_COLUMNS } from '../audit-format.ts';
import { clientCommand, printList, run } from '../context.ts';
import { printJson } from '../output.ts';
import { collect, positiveInt, unixTime } from '../parse.ts';

type Format = 'table' | 'json' | 'csv' | 'jsonl';

type AuditOptions = {
  type?: string[];
  project?: string[];
  actor?: string[];
  resource?: string[];
  since?: number;
  until?: number;
  effectiveAtGt?: number;
  effectiveAtGte?: number;
  effectiveAtLt?: number;
  effectiveAtLte?: number;
  after?: string;
  before?: string;
  limit?: number;
  all?: boolean;
  format?: Format;
};

/** Shown without `--all`/`--limit` in a table or JSON; exports (csv, jsonl) are complete by default. */
const DEFAULT_SHOWN = 20;

function queryOf(options: AuditOptions): AuditLogListParams {
  const range = {
    gt: options.effectiveAtGt,
    gte: options.effectiveAtGte ?? options.since,
    lt: options.effectiveAtLt ?? options.until,
    lte: options.effectiveAtLte,
  };
  const effectiveAt = Object.fromEntries(Object.entries(range).filter(([, v]) => v !== undefined));
  return {
    // ftshare's own event types (checkpoint.registered, …) are not in the SDK's union.
    ...(options.type ? { event_types: options.type as NonNullable<AuditLogListParams['event_types']> } : {}),
    ...(options.project ? { project_ids: options.project } : {}),
    ...(options.actor ? { actor_ids: options.actor } : {}),
    ...(options.resource ? { resource_ids: options.resource } : {}),
    ...(Object.keys(effectiveAt).length > 0 ? { effective_at: effectiveAt } : {}),
  };
}

/**
 * `ftshare audit`: the audit log, newest first, with OpenAI's filters, as a table, JSON, or an
 * export for compliance (CSV or JSON Lines) of every matching event, written page by page as
 * the pages arrive.
 */
export function auditCommand(program: Command): void {
  clientCommand(program, 'audit', 'list or export the audit log, newest first, with OpenAI’s filters')
    .helpGroup('Audit and state:')
    .option(
      '-t, --type <event-type>',
      'only events of this type, e.g. checkpoint.permission.created (repeatable)',
      collect,
    )
    .option('-p, --project <project>', 'only events concerning this project (repeatable)', collect)
    .option('--actor <key>', 'only changes made by this API key id (repeatable)', collect)
    .option(
      '--resource <id>',
      'only changes to this object: a permission, project, key, checkpoint… (repeatable)',
      collect,
    )
    .addOption(
      new Option('--since <time>', 'at or after this time (Unix seconds or ISO 8601)')
        .argParser(unixTime)
        .conflicts('effectiveAtGte'),
    )
    .addOption(
      new Option('--until <time>', 'before this time (Unix seconds or ISO 8601)')
        .argParser(unixTime)
        .conflicts('effectiveAtLt'),
    )
    .addOption(new Option('--effective-at-gt <time>', 'effective_at[gt]').argParser(unixTime))
    .addOption(new Option('--effective-at-gte <time>', 'effective_at[gte]').argParser(unixTime))
    .addOption(new Option('--effective-at-lt <time>', 'effective_at[lt]').argParser(unixTime))
    .addOption(new Option('--effective-at-lte <time>', 'effective_at[lte]').argParser(unixTime))
    .option('--after <event>', 'start after this event id (older events)')
    .addOption(new Option('--before <event>', 'only events newer than this event id').conflicts('after'))
    .addOption(
      new Option('--limit <n>', `at most n events (default: ${DEFAULT_SHOWN} in a table or JSON, all in an export)`)
        .argParser(positiveInt(Number.MAX_SAFE_INTEGER))
        .conflicts('all'),
    )
    .option('--all', 'every matching event, page after page')
    .addOption(
      new Option('--format <format>', 'table, json, or an export: csv (RFC 4180) or jsonl (one event per line)')
        .choices(['table', 'json', 'csv', 'jsonl'])
        .conflicts('json'),
    )
    .action(
      run<[], AuditOptions>(async (ctx, _args, options) => {
        const format: Format = options.format ?? (ctx.json ? 'json' : 'table');
        const exporting = format === 'csv' || format === 'jsonl';
        const limit = options.limit ?? (options.all || exporting ? Number.POSITIVE_INFINITY : DEFAULT_SHOWN);
        const sdk = await ctx.client.sdk();
        const query = queryOf(options);

        const buffered: AuditEvent[] = [];
        let count = 0;
        let more = false;
        const emit = (events: AuditEvent[]) => {
          for (const event of events) {
            if (count === limit) {
              more = true;
              return;
            }
            count++;
            if (format === 'csv') ctx.out.write(csvRow(event));
            else if (format === 'jsonl') ctx.out.write(`${JSON.stringify(event)}\n`);
            else buffered.push(event);
          }
        };
        const pageSize = () => Math.min(100, Math.max(1, limit - count + 1));

        if (format === 'csv') ctx.out.write(csvHeader());
        if (options.before === undefined) {
          // Toward older events: the SDK's own paging (after = the last id of each page).
          let page = await sdk.admin.organization.auditLogs.list({
            ...query,
            limit: pageSize(),
            ...(options.after === undefined ? {} : { after: options.after }),
          });
          for (;;) {
            emit(page.data as AuditEvent[]);
            if (more || !page.hasNextPage()) {
              more ||= page.hasNextPage();
              break;
            }
            page = await page.getNextPage();
          }
        } else {
          // Toward newer events: each page is the next newer slice, listed newest first; the next
          // cursor is its first (newest) id. Collected, then emitted newest first overall.
          const pages: AuditEvent[][] = [];
          let before = options.before;
          let fetched = 0;
          for (;;) {
            const page = await sdk.admin.organization.auditLogs.list({ ...query, before, limit: 100 });
            const data = page.data as AuditEvent[];
            pages.unshift(data);
            fetched += data.length;
            const newest = data[0];
            if (!page.has_more || newest === undefined || fetched >= limit) break;
            before = newest.id;
          }
          // The `limit` events nearest the cursor: drop the newest beyond it.
          const events = pages.flat();
          emit(events.slice(Math.max(0, events.length - limit)));
          more = events.length > limit;
        }

        if (format === 'json') printJson(ctx.out, buffered);
        else if (format === 'table') printList(ctx, buffered, TABLE_COLUMNS, 'audit events');
        if (more && !exporting) {
          const last = buffered.at(-1);
          const hint = options.before === undefined && last ? `, or --after ${last.id} for the next page` : '';
          ctx.err.line(ctx.err.paint('dim', `more events: add --all or --limit${hint}`));
        }
        if (exporting) ctx.err.line(`exported ${count} audit events`);
      }),
    );
}
