import { Type } from '@sinclair/typebox';
import * as accounts from '../../domain/service-accounts.ts';
import { callerOf } from '../auth.ts';
import { type App, ERROR_RESPONSES, type RouteDeps } from '../deps.ts';
import { ADMIN_KEY } from '../openapi.ts';
import * as S from '../schemas.ts';
import * as K from '../schemas-keys.ts';
import { listToWire, projectKeyToWire } from '../wire.ts';

const KEYS = '/v1/organization/projects/:project_id/api_keys';
const KEY = `${KEYS}/:api_key_id`;
const TAGS = ['Projects'];

/**
 * CONTRACT §5: a project's API keys (redacted). Every one belongs to a service account, and unlike
 * OpenAI, deleting one here works.
 */
export function projectKeyRoutes(app: App, { store, clock }: RouteDeps): void {
  /** Whether the project is active: a key of an archived project answers 401 (`owner_project_access`). */
  const projectActive = async (orgId: string, projectId: string) =>
    (await store.getProject(orgId, projectId))?.archivedAt === null;

  app.get(
    KEYS,
    {
      config: { auth: 'admin' },
      schema: {
        operationId: 'list-project-api-keys',
        tags: TAGS,
        summary: 'List the project’s API keys (redacted), oldest first.',
        security: ADMIN_KEY,
        params: S.ProjectParams,
        querystring: K.ListProjectKeysQuery,
        response: { 200: Type.Ref(K.ProjectApiKeyListResponse), ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const { orgId } = callerOf(request);
      const { project_id } = request.params;
      const { after, limit, owner_project_access } = request.query;
      const page = await accounts.listProjectKeys(store, orgId, project_id, {
        limit,
        ...(after === undefined ? {} : { after }),
      });
      const active = await projectActive(orgId, project_id);
      // Every key of a project shares its owner's access: the filter keeps all or none.
      const wanted = owner_project_access === 'any' || (owner_project_access === 'active') === active;
      return listToWire(wanted ? page : { items: [], hasMore: false }, (key) => projectKeyToWire(key, active));
    },
  );

  app.get(
    KEY,
    {
      config: { auth: 'admin' },
      schema: {
        operationId: 'retrieve-project-api-key',
        tags: TAGS,
        summary: 'Retrieve a project API key (redacted).',
        security: ADMIN_KEY,
        params: K.ProjectKeyParams,
        response: { 200: Type.Ref(K.ProjectApiKey), ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const { orgId } = callerOf(request);
      const { project_id, api_key_id } = request.params;
      const key = await accounts.getProjectKey(store, orgId, project_id, api_key_id);
      return projectKeyToWire(key, await projectActive(orgId, project_id));
    },
  );

  app.post(
    KEY,
    {
      config: { auth: 'admin' },
      schema: {
        operationId: 'update-project-api-key',
        tags: TAGS,
        summary: 'Change a project API key’s expiry (scopes are recorded in the audit log, not enforced).',
        security: ADMIN_KEY,
        params: K.ProjectKeyParams,
        body: K.ProjectApiKeyUpdateRequest,
        response: { 200: Type.Ref(K.ProjectApiKey), ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const caller = callerOf(request);
      const { project_id, api_key_id } = request.params;
      const body = request.body ?? {};
      const key = await accounts.updateProjectKey(store, clock, caller, project_id, api_key_id, {
        ...(body.expires_in_seconds === undefined ? {} : { expiresInSeconds: body.expires_in_seconds }),
        ...(body.scopes === undefined ? {} : { scopes: body.scopes }),
      });
      return projectKeyToWire(key, await projectActive(caller.orgId, project_id));
    },
  );

  app.delete(
    KEY,
    {
      config: { auth: 'admin' },
      schema: {
        operationId: 'delete-project-api-key',
        tags: TAGS,
        summary: 'Delete a project API key: it answers 401 from the next request on.',
        security: ADMIN_KEY,
        params: K.ProjectKeyParams,
        response: { 200: K.ProjectApiKeyDeleteResponse, ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const { project_id, api_key_id } = request.params;
      await accounts.deleteProjectKey(store, clock, callerOf(request), project_id, api_key_id);
      return { object: 'organization.project.api_key.deleted' as const, id: api_key_id, deleted: true };
    },
  );
}
