import { Readable } from 'node:stream';
import { writeMeta } from '../../domain/auth.ts';
import { badRequest } from '../../errors.ts';
import type { OrgState, STATE_KINDS, StateCounts, Store } from '../../storage/store.ts';
import { callerOf } from '../auth.ts';
import { type App, ERROR_RESPONSES, type RouteDeps } from '../deps.ts';
import { ADMIN_KEY, EXTENSION } from '../openapi.ts';
import { ImportResponse, StateDocument } from '../schemas-state.ts';
import { organizationToWire, stateFromWire, stateToWire } from '../wire-state.ts';

const TAGS = ['Export and import'];

/** The wire name of each kind of record, in the document's order. */
const WIRE_KINDS: Record<(typeof STATE_KINDS)[number], string> = {
  projects: 'projects',
  serviceAccounts: 'service_accounts',
  apiKeys: 'api_keys',
  checkpoints: 'checkpoints',
  permissions: 'permissions',
  modelRules: 'model_permissions',
  auditEvents: 'audit_events',
};

/**
 * The organization's state document, written a page of records at a time: an export of millions of
 * permissions never sits in memory whole. Kinds come in insertion order; an empty kind is `[]`.
 */
export async function* exportDocument(store: Store, orgId: string): AsyncGenerator<string> {
  const org = await store.getOrganization(orgId);
  yield `{"ftshare_state":1,"organization":${JSON.stringify(org ? organizationToWire(org) : null)}`;
  let open: string | null = null;
  const written = new Set<string>();
  for await (const part of store.exportState(orgId)) {
    for (const [kind, records] of Object.entries(stateToWire(part)) as [string, unknown[]][]) {
      let chunk = '';
      if (kind !== open) {
        chunk += `${open === null ? '' : ']'},"${kind}":[`;
        open = kind;
        written.add(kind);
      } else {
        chunk += ',';
      }
      chunk += records.map((record) => JSON.stringify(record)).join(',');
      yield chunk;
    }
  }
  let tail = open === null ? '' : ']';
  for (const kind of Object.values(WIRE_KINDS)) if (!written.has(kind)) tail += `,"${kind}":[]`;
  yield `${tail}}\n`;
}

const countsToWire = (counts: StateCounts) => ({
  projects: counts.projects,
  service_accounts: counts.serviceAccounts,
  api_keys: counts.apiKeys,
  checkpoints: counts.checkpoints,
  permissions: counts.permissions,
  model_permissions: counts.modelRules,
  audit_events: counts.auditEvents,
});

/** ftshare extensions: an organization's whole state out and in, for backups and moving stores. */
export function transferRoutes(app: App, { store, clock }: RouteDeps): void {
  app.get(
    '/v1/organization/export',
    {
      config: { auth: 'admin' },
      schema: {
        ...EXTENSION,
        operationId: 'exportOrganization',
        tags: TAGS,
        summary:
          'The organization’s whole state as one JSON document (ids, timestamps, key hashes — never a secret), streamed.',
        security: ADMIN_KEY,
        // No response schema: the document is streamed as it is read, not serialised whole.
      },
    },
    async (request, reply) => {
      reply.type('application/json; charset=utf-8');
      return reply.send(Readable.from(exportDocument(store, callerOf(request).orgId)));
    },
  );

  app.post(
    '/v1/organization/import',
    {
      config: { auth: 'admin' },
      schema: {
        ...EXTENSION,
        operationId: 'importOrganization',
        tags: TAGS,
        summary:
          'Insert a state document’s records (or any part: at most 1 MiB a request) that are not there yet, into the caller’s organization, ids and timestamps kept. All or nothing; importing again inserts nothing.',
        security: ADMIN_KEY,
        body: StateDocument,
        response: { 200: ImportResponse, ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const caller = callerOf(request);
      const decoded = stateFromWire(request.body, caller.orgId);
      if ('problem' in decoded) throw badRequest(decoded.problem, decoded.param);
      const outcome = await store.importState(
        caller.orgId,
        decoded.state as Partial<Omit<OrgState, 'organization'>>,
        writeMeta(caller, clock),
      );
      if (outcome.kind === 'conflict') throw badRequest(outcome.message, outcome.param, 'import_conflict');
      return {
        object: 'organization.import' as const,
        inserted: countsToWire(outcome.inserted),
        skipped: countsToWire(outcome.skipped),
      };
    },
  );
}
