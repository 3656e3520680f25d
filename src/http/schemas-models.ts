import { Type } from '@sinclair/typebox';
import { ACCESS_REASONS } from '../domain/access.ts';
import { IdString, LIMITS, StringEnum } from './schemas.ts';

/** Models, project model permissions and the batch access check (an ftshare extension). */

/** A model id as a client names it: base models may be `org/name`, checkpoints carry colons. */
const ModelId = Type.String({ minLength: 1, maxLength: LIMITS.checkpointName });

export const ModelParams = Type.Object({ model: ModelId });

export const Model = Type.Object(
  {
    id: Type.String(),
    object: Type.Literal('model'),
    created: Type.Integer(),
    owned_by: Type.String({
      description: 'The organization id for its checkpoints; `system` for the configured base models.',
    }),
  },
  { $id: 'Model' },
);

export const ListModelsResponse = Type.Object(
  { object: Type.Literal('list'), data: Type.Array(Type.Ref(Model)) },
  { $id: 'ListModelsResponse' },
);

export const DeleteModelResponse = Type.Object({
  id: Type.String(),
  object: Type.Literal('model'),
  deleted: Type.Boolean(),
});

export const LIMIT_MODEL_IDS = 1_000;

export const ProjectModelPermissions = Type.Object(
  {
    object: Type.Literal('project.model_permissions'),
    mode: StringEnum(['allow_list', 'deny_list']),
    model_ids: Type.Array(Type.String()),
  },
  { $id: 'ProjectModelPermissions' },
);

export const ProjectModelPermissionsUpdateRequest = Type.Object(
  {
    mode: StringEnum(['allow_list', 'deny_list']),
    model_ids: Type.Array(ModelId, {
      maxItems: LIMIT_MODEL_IDS,
      description: 'Replaces the whole list; ids may name models that do not exist yet.',
    }),
  },
  { additionalProperties: false },
);

export const ProjectModelPermissionsDeleteResponse = Type.Object({
  object: Type.Literal('project.model_permissions.deleted'),
  deleted: Type.Boolean(),
});

export const LIMIT_ACCESS_CHECKS = 1_000;

export const ModelAccessRequest = Type.Object(
  {
    checks: Type.Array(
      Type.Object(
        { project_id: IdString('A project of the organization (or not: that is an answer too).'), model: ModelId },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: LIMIT_ACCESS_CHECKS },
    ),
  },
  { additionalProperties: false },
);

export const ModelAccess = Type.Object(
  {
    object: Type.Literal('model_access'),
    project_id: Type.String(),
    model: Type.String(),
    allowed: Type.Boolean(),
    reason: StringEnum([...ACCESS_REASONS], {}),
  },
  { $id: 'ModelAccess' },
);

export const ModelAccessResponse = Type.Object({
  object: Type.Literal('list'),
  data: Type.Array(Type.Ref(ModelAccess)),
});

export const MODEL_SCHEMAS = [Model, ListModelsResponse, ProjectModelPermissions, ModelAccess] as const;
