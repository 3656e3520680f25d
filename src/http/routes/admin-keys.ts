import { Type } from '@sinclair/typebox';
import * as adminKeys from '../../domain/admin-keys.ts';
import type { Store } from '../../storage/store.ts';
import { callerOf } from '../auth.ts';
import { type App, ERROR_RESPONSES, type RouteDeps } from '../deps.ts';
import { ADMIN_KEY } from '../openapi.ts';
import * as K from '../schemas-keys.ts';
import { adminKeyToWire, listToWire } from '../wire.ts';

const KEYS = '/v1/organization/admin_api_keys';
const KEY = `${KEYS}/:key_id`;
const TAGS = ['Admin API keys'];

/** The owner's creation time, which every admin key's `owner` shows. */
const orgCreatedAt = async (store: Store, orgId: string) => (await store.getOrganization(orgId))?.createdAt ?? 0;

/** CONTRACT §5: OpenAI's admin API keys. The secret is in the create answer only. */
export function adminKeyRoutes(app: App, { store, clock }: RouteDeps): void {
  app.post(
    KEYS,
    {
      config: { auth: 'admin' },
      schema: {
        operationId: 'admin-api-keys-create',
        tags: TAGS,
        summary: 'Create an admin API key; its secret `value` is shown in this answer only.',
        security: ADMIN_KEY,
        body: K.AdminApiKeyCreateRequest,
        response: { 200: K.AdminApiKeyCreateResponse, ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const caller = callerOf(request);
      const { key, secret } = await adminKeys.createAdminKey(store, clock, caller, {
        name: request.body.name,
        expiresInSeconds: request.body.expires_in_seconds ?? null,
      });
      return { ...adminKeyToWire(key, await orgCreatedAt(store, caller.orgId)), value: secret };
    },
  );

  app.get(
    KEYS,
    {
      config: { auth: 'admin' },
      schema: {
        operationId: 'admin-api-keys-list',
        tags: TAGS,
        summary: 'List the organization’s admin API keys (expired ones included, deleted ones not).',
        security: ADMIN_KEY,
        querystring: K.ListAdminKeysQuery,
        response: { 200: Type.Ref(K.ApiKeyList), ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const caller = callerOf(request);
      const { after, order, limit } = request.query;
      const page = await adminKeys.listAdminKeys(store, caller.orgId, {
        order,
        limit,
        ...(after === undefined || after === '' ? {} : { after }),
      });
      const createdAt = await orgCreatedAt(store, caller.orgId);
      return listToWire(page, (key) => adminKeyToWire(key, createdAt));
    },
  );

  app.get(
    KEY,
    {
      config: { auth: 'admin' },
      schema: {
        operationId: 'admin-api-keys-get',
        tags: TAGS,
        summary: 'Retrieve an admin API key (redacted).',
        security: ADMIN_KEY,
        params: K.KeyParams,
        response: { 200: Type.Ref(K.AdminApiKey), ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const caller = callerOf(request);
      const key = await adminKeys.getAdminKey(store, caller.orgId, request.params.key_id);
      return adminKeyToWire(key, await orgCreatedAt(store, caller.orgId));
    },
  );

  app.delete(
    KEY,
    {
      config: { auth: 'admin' },
      schema: {
        operationId: 'admin-api-keys-delete',
        tags: TAGS,
        summary: 'Delete an admin API key; refused for the organization’s last active one.',
        security: ADMIN_KEY,
        params: K.KeyParams,
        response: { 200: K.AdminApiKeyDeleteResponse, ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      await adminKeys.deleteAdminKey(store, clock, callerOf(request), request.params.key_id);
      return { id: request.params.key_id, object: 'organization.admin_api_key.deleted' as const, deleted: true };
    },
  );
}
