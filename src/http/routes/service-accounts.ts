import { Type } from '@sinclair/typebox';
import * as accounts from '../../domain/service-accounts.ts';
import { callerOf } from '../auth.ts';
import { type App, ERROR_RESPONSES, type RouteDeps } from '../deps.ts';
import { ADMIN_KEY } from '../openapi.ts';
import * as S from '../schemas.ts';
import * as K from '../schemas-keys.ts';
import { listToWire, newKeyToWire, serviceAccountToWire } from '../wire.ts';

const ACCOUNTS = '/v1/organization/projects/:project_id/service_accounts';
const ACCOUNT = `${ACCOUNTS}/:service_account_id`;
const TAGS = ['Projects'];

/** CONTRACT §5: service accounts, how a project gets its API keys (shown once, stored hashed). */
export function serviceAccountRoutes(app: App, { store, clock }: RouteDeps): void {
  app.post(
    ACCOUNTS,
    {
      config: { auth: 'admin' },
      schema: {
        operationId: 'create-project-service-account',
        tags: TAGS,
        summary: 'Create a service account in the project, with a project API key shown only in this response.',
        security: ADMIN_KEY,
        params: S.ProjectParams,
        body: K.ProjectServiceAccountCreateRequest,
        response: { 200: K.ProjectServiceAccountCreateResponse, ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const { account, key } = await accounts.createServiceAccount(
        store,
        clock,
        callerOf(request),
        request.params.project_id,
        {
          name: request.body.name,
          withKey: request.body.create_service_account_only !== true,
          expiresInSeconds: request.body.expires_in_seconds ?? null,
        },
      );
      return {
        object: 'organization.project.service_account' as const,
        id: account.id,
        name: account.name,
        role: account.role === 'none' ? ('none' as const) : ('member' as const),
        created_at: account.createdAt,
        api_key: key && newKeyToWire(key),
      };
    },
  );

  app.get(
    ACCOUNTS,
    {
      config: { auth: 'admin' },
      schema: {
        operationId: 'list-project-service-accounts',
        tags: TAGS,
        summary: 'List the project’s service accounts, oldest first.',
        security: ADMIN_KEY,
        params: S.ProjectParams,
        querystring: K.ListServiceAccountsQuery,
        response: { 200: Type.Ref(K.ProjectServiceAccountListResponse), ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const { after, limit } = request.query;
      const page = await accounts.listServiceAccounts(store, callerOf(request).orgId, request.params.project_id, {
        limit,
        ...(after === undefined ? {} : { after }),
      });
      return listToWire(page, serviceAccountToWire);
    },
  );

  app.get(
    ACCOUNT,
    {
      config: { auth: 'admin' },
      schema: {
        operationId: 'retrieve-project-service-account',
        tags: TAGS,
        summary: 'Retrieve a service account.',
        security: ADMIN_KEY,
        params: K.ServiceAccountParams,
        response: { 200: Type.Ref(K.ProjectServiceAccount), ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const { project_id, service_account_id } = request.params;
      return serviceAccountToWire(
        await accounts.getServiceAccount(store, callerOf(request).orgId, project_id, service_account_id),
      );
    },
  );

  app.post(
    ACCOUNT,
    {
      config: { auth: 'admin' },
      schema: {
        operationId: 'update-project-service-account',
        tags: TAGS,
        summary: 'Rename a service account or change its role (recorded; roles do not change what its keys may use).',
        security: ADMIN_KEY,
        params: K.ServiceAccountParams,
        body: K.UpdateProjectServiceAccountBody,
        response: { 200: Type.Ref(K.ProjectServiceAccount), ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const { project_id, service_account_id } = request.params;
      const { name, role } = request.body;
      const account = await accounts.updateServiceAccount(
        store,
        clock,
        callerOf(request),
        project_id,
        service_account_id,
        { ...(name === undefined ? {} : { name }), ...(role === undefined ? {} : { role }) },
      );
      return serviceAccountToWire(account);
    },
  );

  app.delete(
    ACCOUNT,
    {
      config: { auth: 'admin' },
      schema: {
        operationId: 'delete-project-service-account',
        tags: TAGS,
        summary: 'Delete a service account and every key of it: they answer 401 from the next request on.',
        security: ADMIN_KEY,
        params: K.ServiceAccountParams,
        response: { 200: K.ProjectServiceAccountDeleteResponse, ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const { project_id, service_account_id } = request.params;
      await accounts.deleteServiceAccount(store, clock, callerOf(request), project_id, service_account_id);
      return {
        object: 'organization.project.service_account.deleted' as const,
        id: service_account_id,
        deleted: true,
      };
    },
  );

  app.post(
    `${ACCOUNT}/api_keys`,
    {
      config: { auth: 'admin' },
      schema: {
        operationId: 'create-project-service-account-api-key',
        tags: TAGS,
        summary: 'Another API key for a service account, shown only in this response.',
        security: ADMIN_KEY,
        params: K.ServiceAccountParams,
        body: K.CreateProjectServiceAccountApiKeyBody,
        response: { 200: K.ServiceAccountApiKeyResponse, ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const { project_id, service_account_id } = request.params;
      const body = request.body ?? {};
      const key = await accounts.addServiceAccountKey(store, clock, callerOf(request), project_id, service_account_id, {
        name: body.name ?? 'Secret Key',
        scopes: body.scopes ?? [],
        expiresInSeconds: body.expires_in_seconds ?? null,
      });
      return newKeyToWire(key);
    },
  );
}
