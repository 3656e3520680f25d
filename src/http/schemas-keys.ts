import { Type } from '@sinclair/typebox';
import { IdString, LIMITS, ListOf, Nullable, ProjectName, StringEnum } from './schemas.ts';

/**
 * Admin API keys, service accounts and project API keys, after OpenAI's published shapes
 * (components named alike). Secrets appear only in the create responses (`value`).
 */

/** OpenAI's bound on `expires_in_seconds`: one year. */
const ExpiresInSeconds = Type.Integer({
  minimum: 1,
  maximum: 31_536_000,
  description: 'Seconds until the key stops working; omit for a key that does not expire.',
});

const KeyName = Type.String({ minLength: 1, maxLength: LIMITS.name });

/** Recorded in the audit log, not enforced: ftshare keys act for their whole project. */
const Scopes = Type.Array(Type.String({ minLength: 1, maxLength: LIMITS.name }), { maxItems: 100 });

export const KeyParams = Type.Object({ key_id: IdString('The id of the admin API key.') });

const Owner = Type.Object({
  type: Type.Literal('user'),
  object: Type.Literal('organization.user'),
  id: Type.String(),
  name: Type.String(),
  created_at: Type.Integer(),
  role: Type.Literal('owner'),
});

export const AdminApiKey = Type.Object(
  {
    object: Type.Literal('organization.admin_api_key'),
    id: Type.String(),
    name: Nullable(Type.String()),
    redacted_value: Type.String(),
    created_at: Type.Integer(),
    expires_at: Nullable(Type.Integer()),
    last_used_at: Nullable(Type.Integer()),
    owner: Owner,
  },
  { $id: 'AdminApiKey' },
);

export const AdminApiKeyCreateResponse = Type.Composite([AdminApiKey, Type.Object({ value: Type.String() })]);

export const ApiKeyList = ListOf(Type.Ref(AdminApiKey), 'ApiKeyList');

export const AdminApiKeyCreateRequest = Type.Object(
  { name: KeyName, expires_in_seconds: Type.Optional(Nullable(ExpiresInSeconds)) },
  { additionalProperties: false },
);

export const ListAdminKeysQuery = Type.Object({
  // openai 7.x types this `after` as `string | null`, and sends a null as `after=`: empty means absent.
  after: Type.Optional(
    Type.String({
      maxLength: LIMITS.id,
      pattern: '^\\S*$',
      description: 'The last key id of the previous page; empty (the SDK’s `after: null`) means the first page.',
    }),
  ),
  order: StringEnum(['asc', 'desc'], { default: 'asc' }),
  limit: Type.Integer({ minimum: 1, maximum: LIMITS.pageSize, default: 20 }),
});

export const AdminApiKeyDeleteResponse = Type.Object({
  id: Type.String(),
  object: Type.Literal('organization.admin_api_key.deleted'),
  deleted: Type.Boolean(),
});

// Service accounts

export const ServiceAccountParams = Type.Object({
  project_id: IdString('The id of the project.'),
  service_account_id: IdString('The id of the service account.'),
});

export const ProjectServiceAccount = Type.Object(
  {
    object: Type.Literal('organization.project.service_account'),
    id: Type.String(),
    name: Type.String(),
    role: StringEnum(['owner', 'member', 'none']),
    created_at: Type.Integer(),
  },
  { $id: 'ProjectServiceAccount' },
);

export const ProjectServiceAccountListResponse = ListOf(
  Type.Ref(ProjectServiceAccount),
  'ProjectServiceAccountListResponse',
);

export const ProjectServiceAccountCreateRequest = Type.Object(
  {
    name: ProjectName,
    create_service_account_only: Type.Optional(Nullable(Type.Boolean())),
    expires_in_seconds: Type.Optional(Nullable(ExpiresInSeconds)),
  },
  { additionalProperties: false },
);

/** The key a create answers with: its only appearance with `value`. */
const ServiceAccountApiKeyBody = Type.Object({
  object: Type.Literal('organization.project.service_account.api_key'),
  value: Type.String(),
  name: Type.String(),
  created_at: Type.Integer(),
  id: Type.String(),
});

export const ProjectServiceAccountCreateResponse = Type.Object({
  object: Type.Literal('organization.project.service_account'),
  id: Type.String(),
  name: Type.String(),
  role: StringEnum(['member', 'none']),
  created_at: Type.Integer(),
  api_key: Nullable(ServiceAccountApiKeyBody),
});

export const UpdateProjectServiceAccountBody = Type.Object(
  { name: Type.Optional(ProjectName), role: Type.Optional(StringEnum(['member', 'owner'])) },
  { additionalProperties: false },
);

export const ProjectServiceAccountDeleteResponse = Type.Object({
  object: Type.Literal('organization.project.service_account.deleted'),
  id: Type.String(),
  deleted: Type.Boolean(),
});

export const CreateProjectServiceAccountApiKeyBody = Type.Object(
  {
    name: Type.Optional(KeyName),
    scopes: Type.Optional(Scopes),
    expires_in_seconds: Type.Optional(Nullable(ExpiresInSeconds)),
  },
  { additionalProperties: false },
);

export const ServiceAccountApiKeyResponse = ServiceAccountApiKeyBody;

export const ListServiceAccountsQuery = Type.Object({
  after: Type.Optional(IdString('The last service account id of the previous page.')),
  limit: Type.Integer({ minimum: 1, maximum: LIMITS.pageSize, default: 20 }),
});

// Project API keys

export const ProjectKeyParams = Type.Object({
  project_id: IdString('The id of the project.'),
  api_key_id: IdString('The id of the API key.'),
});

export const ProjectApiKey = Type.Object(
  {
    object: Type.Literal('organization.project.api_key'),
    redacted_value: Type.String(),
    name: Type.String(),
    created_at: Type.Integer(),
    last_used_at: Nullable(Type.Integer()),
    expires_at: Nullable(Type.Integer()),
    id: Type.String(),
    owner_project_access: StringEnum(['active', 'inactive']),
    owner: Type.Object({
      type: Type.Literal('service_account'),
      service_account: Type.Object({
        id: Type.String(),
        name: Type.String(),
        created_at: Type.Integer(),
        role: Type.String(),
      }),
    }),
  },
  { $id: 'ProjectApiKey' },
);

export const ProjectApiKeyListResponse = ListOf(Type.Ref(ProjectApiKey), 'ProjectApiKeyListResponse');

export const ListProjectKeysQuery = Type.Object({
  after: Type.Optional(IdString('The last key id of the previous page.')),
  limit: Type.Integer({ minimum: 1, maximum: LIMITS.pageSize, default: 20 }),
  owner_project_access: StringEnum(['active', 'inactive', 'any'], { default: 'any' }),
});

export const ProjectApiKeyUpdateRequest = Type.Object(
  { expires_in_seconds: Type.Optional(Nullable(ExpiresInSeconds)), scopes: Type.Optional(Scopes) },
  { additionalProperties: false },
);

export const ProjectApiKeyDeleteResponse = Type.Object({
  object: Type.Literal('organization.project.api_key.deleted'),
  id: Type.String(),
  deleted: Type.Boolean(),
});

export const KEY_SCHEMAS = [
  AdminApiKey,
  ApiKeyList,
  ProjectServiceAccount,
  ProjectServiceAccountListResponse,
  ProjectApiKey,
  ProjectApiKeyListResponse,
] as const;
