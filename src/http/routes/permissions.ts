import { Type } from '@sinclair/typebox';
import { grantCheckpointAccess, listCheckpointAccess, revokeCheckpointAccess } from '../../domain/permissions.ts';
import { callerOf } from '../auth.ts';
import { type App, ERROR_RESPONSES, type RouteDeps } from '../deps.ts';
import { ADMIN_KEY } from '../openapi.ts';
import * as S from '../schemas.ts';
import { listToWire, permissionToWire } from '../wire.ts';

const PERMISSIONS = '/v1/fine_tuning/checkpoints/:fine_tuned_model_checkpoint/permissions';

/** CONTRACT §1: OpenAI's checkpoint permission routes, identical on the wire. */
export function permissionRoutes(app: App, { store, clock }: RouteDeps): void {
  app.post(
    PERMISSIONS,
    {
      config: { auth: 'admin' },
      schema: {
        operationId: 'createFineTuningCheckpointPermission',
        tags: ['Fine-tuning'],
        summary: 'Share a fine-tuned checkpoint with projects of the organization (all or nothing).',
        security: ADMIN_KEY,
        params: S.CheckpointParams,
        body: S.CreateFineTuningCheckpointPermissionRequest,
        response: { 200: Type.Ref(S.ListFineTuningCheckpointPermissionResponse), ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const granted = await grantCheckpointAccess(
        store,
        clock,
        callerOf(request),
        request.params.fine_tuned_model_checkpoint,
        request.body.project_ids,
      );
      return listToWire({ items: granted, hasMore: false }, permissionToWire);
    },
  );

  app.get(
    PERMISSIONS,
    {
      config: { auth: 'admin' },
      schema: {
        operationId: 'listFineTuningCheckpointPermissions',
        tags: ['Fine-tuning'],
        summary: 'List the permissions of a fine-tuned checkpoint, a cursor page at a time.',
        security: ADMIN_KEY,
        params: S.CheckpointParams,
        querystring: S.ListPermissionsQuery,
        response: { 200: Type.Ref(S.ListFineTuningCheckpointPermissionResponse), ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const { project_id, after, limit, order } = request.query;
      const page = await listCheckpointAccess(
        store,
        callerOf(request).orgId,
        request.params.fine_tuned_model_checkpoint,
        {
          limit,
          order,
          ...(project_id === undefined ? {} : { projectId: project_id }),
          ...(after === undefined ? {} : { after }),
        },
      );
      return listToWire(page, permissionToWire);
    },
  );

  app.delete(
    `${PERMISSIONS}/:permission_id`,
    {
      config: { auth: 'admin' },
      schema: {
        operationId: 'deleteFineTuningCheckpointPermission',
        tags: ['Fine-tuning'],
        summary: 'Revoke one permission; the project loses access from the next request on.',
        security: ADMIN_KEY,
        params: S.PermissionParams,
        response: { 200: S.DeleteFineTuningCheckpointPermissionResponse, ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const { fine_tuned_model_checkpoint, permission_id } = request.params;
      const revoked = await revokeCheckpointAccess(
        store,
        clock,
        callerOf(request),
        fine_tuned_model_checkpoint,
        permission_id,
      );
      return { object: 'checkpoint.permission' as const, id: revoked.id, deleted: true };
    },
  );
}
