import { type TSchema, Type } from '@sinclair/typebox';

/**
 * Wire schemas, after OpenAI's published OpenAPI text (components named alike). Each one validates
 * requests or serialises responses and also feeds `GET /v1/openapi.json`, so they cannot drift.
 * Limits that OpenAI leaves open are ours, from CONTRACT.md and the README's compatibility notes.
 */

export const LIMITS = {
  bodyBytes: 1024 * 1024,
  checkpointName: 256,
  projectIdsPerGrant: 100,
  id: 128,
  name: 256,
  pageSize: 100,
  /** The whole request target, path and query; longer is 414. Twice what common proxies pass on. */
  urlBytes: 8 * 1024,
} as const;

export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

/** A string enum as plain `enum` (not TypeBox's anyOf of consts): one clear validation message. */
export const StringEnum = <T extends string[]>(values: [...T], options: { default?: T[number] } = {}) =>
  Type.Unsafe<T[number]>({ type: 'string', enum: values, ...options });

/** An id the client sends back to us: bounded, printable, no whitespace. */
export const IdString = (description: string) =>
  Type.String({ minLength: 1, maxLength: LIMITS.id, pattern: '^\\S+$', description });

export const ErrorResponse = Type.Object(
  {
    error: Type.Object({
      message: Type.String(),
      type: Type.String(),
      param: Nullable(Type.String()),
      code: Nullable(Type.String()),
    }),
  },
  { $id: 'ErrorResponse' },
);

/** The list envelope OpenAI uses for cursor pages: first_id/last_id are null on an empty page. */
export const ListOf = <T extends TSchema>(item: T, $id: string) =>
  Type.Object(
    {
      object: Type.Literal('list'),
      data: Type.Array(item),
      first_id: Nullable(Type.String()),
      last_id: Nullable(Type.String()),
      has_more: Type.Boolean(),
    },
    { $id },
  );

// Checkpoint permissions (OpenAI)

export const CheckpointParam = Type.String({
  minLength: 1,
  maxLength: LIMITS.checkpointName,
  description:
    'The fine-tuned model checkpoint, e.g. `ft:gpt-4o-mini-2024-07-18:acme:weather:B7R9VjQd`; colons may be sent raw or as %3A.',
});

export const CheckpointParams = Type.Object({ fine_tuned_model_checkpoint: CheckpointParam });

export const PermissionParams = Type.Object({
  fine_tuned_model_checkpoint: CheckpointParam,
  permission_id: IdString('The id of the checkpoint permission to delete.'),
});

export const FineTuningCheckpointPermission = Type.Object(
  {
    object: Type.Literal('checkpoint.permission'),
    id: Type.String(),
    created_at: Type.Integer(),
    project_id: Type.String(),
  },
  { $id: 'FineTuningCheckpointPermission' },
);

export const ListFineTuningCheckpointPermissionResponse = ListOf(
  Type.Ref(FineTuningCheckpointPermission),
  'ListFineTuningCheckpointPermissionResponse',
);

export const CreateFineTuningCheckpointPermissionRequest = Type.Object(
  {
    project_ids: Type.Array(IdString('A project id of the caller’s organization.'), {
      minItems: 1,
      maxItems: LIMITS.projectIdsPerGrant,
      description: 'The projects to grant access to; repeats count once.',
    }),
  },
  { additionalProperties: false },
);

export const ListPermissionsQuery = Type.Object({
  project_id: Type.Optional(IdString('Only the permission of this project.')),
  after: Type.Optional(IdString('The last permission id of the previous page.')),
  limit: Type.Integer({ minimum: 1, maximum: LIMITS.pageSize, default: 10 }),
  order: StringEnum(['ascending', 'descending'], { default: 'descending' }),
});

export const DeleteFineTuningCheckpointPermissionResponse = Type.Object({
  object: Type.Literal('checkpoint.permission'),
  id: Type.String(),
  deleted: Type.Boolean(),
});

// Projects (OpenAI)

export const Project = Type.Object(
  {
    id: Type.String(),
    object: Type.Literal('organization.project'),
    name: Type.String(),
    created_at: Type.Integer(),
    archived_at: Nullable(Type.Integer()),
    status: Type.Union([Type.Literal('active'), Type.Literal('archived')]),
    external_key_id: Nullable(Type.String()),
  },
  { $id: 'Project' },
);

export const ProjectListResponse = ListOf(Type.Ref(Project), 'ProjectListResponse');

export const ProjectName = Type.String({ minLength: 1, maxLength: LIMITS.name, pattern: '\\S' });
const ExternalKeyId = Nullable(Type.String({ minLength: 1, maxLength: LIMITS.id }));

/** Sent by openai 7.x; accepted and ignored: ftshare serves one region. */
const Geography = Nullable(
  Type.String({ maxLength: LIMITS.name, description: 'Accepted and ignored: ftshare has one region.' }),
);

export const ProjectCreateRequest = Type.Object(
  {
    name: ProjectName,
    external_key_id: Type.Optional(ExternalKeyId),
    residency: Type.Optional(Nullable(Type.Literal('GLOBAL'))),
    geography: Type.Optional(Geography),
  },
  { additionalProperties: false },
);

export const ProjectUpdateRequest = Type.Object(
  {
    name: Type.Optional(Nullable(ProjectName)),
    external_key_id: Type.Optional(ExternalKeyId),
    geography: Type.Optional(Geography),
  },
  { additionalProperties: false },
);

export const ProjectParams = Type.Object({ project_id: IdString('The id of the project.') });

export const ListProjectsQuery = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: LIMITS.pageSize, default: 20 }),
  after: Type.Optional(IdString('The last project id of the previous page.')),
  include_archived: Type.Boolean({ default: false }),
});

// Checkpoint registry (ftshare extension)

export const FineTuningCheckpoint = Type.Object(
  {
    object: Type.Literal('fine_tuning.checkpoint'),
    id: Type.String({ description: 'The checkpoint name, e.g. `ft:gpt-4o-mini-2024-07-18:acme:weather:B7R9VjQd`.' }),
    project_id: Type.String({ description: 'The project that owns the checkpoint.' }),
    created_at: Type.Integer(),
  },
  { $id: 'FineTuningCheckpoint' },
);

export const FineTuningCheckpointList = ListOf(Type.Ref(FineTuningCheckpoint), 'FineTuningCheckpointList');

export const RegisterCheckpointRequest = Type.Object(
  {
    fine_tuned_model_checkpoint: Type.String({
      minLength: 1,
      maxLength: LIMITS.checkpointName,
      // It must survive a round trip through one URL path segment, raw or percent-encoded.
      pattern: '^[^\\s/?#%]+$',
      description: 'The checkpoint name: no whitespace, `/`, `?`, `#` or `%`. Colons are fine.',
    }),
    project_id: IdString('The project that owns the checkpoint.'),
  },
  { additionalProperties: false },
);

export const ListCheckpointsQuery = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: LIMITS.pageSize, default: 20 }),
  after: Type.Optional(Type.String({ minLength: 1, maxLength: LIMITS.checkpointName })),
  project_id: Type.Optional(IdString('Only checkpoints owned by this project.')),
});

export const DeleteCheckpointResponse = Type.Object({
  object: Type.Literal('fine_tuning.checkpoint'),
  id: Type.String(),
  deleted: Type.Boolean(),
});

/** Shared component schemas, registered once with `app.addSchema` so the document can `$ref` them. */
export const SHARED_SCHEMAS = [
  ErrorResponse,
  FineTuningCheckpointPermission,
  ListFineTuningCheckpointPermissionResponse,
  Project,
  ProjectListResponse,
  FineTuningCheckpoint,
  FineTuningCheckpointList,
] as const;
