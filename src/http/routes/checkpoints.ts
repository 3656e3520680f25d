import { Type } from '@sinclair/typebox';
import { deleteCheckpoint, listCheckpoints, registerCheckpoint } from '../../domain/checkpoints.ts';
import { requireCheckpoint } from '../../domain/permissions.ts';
import { callerOf } from '../auth.ts';
import { type App, ERROR_RESPONSES, type RouteDeps } from '../deps.ts';
import { ADMIN_KEY, EXTENSION } from '../openapi.ts';
import * as S from '../schemas.ts';
import { checkpointToWire, listToWire } from '../wire.ts';

const CHECKPOINTS = '/v1/fine_tuning/checkpoints';

/** CONTRACT §6: the checkpoint registry, an ftshare extension. */
export function checkpointRoutes(app: App, { store, clock }: RouteDeps): void {
  app.post(
    CHECKPOINTS,
    {
      config: { auth: 'admin' },
      schema: {
        ...EXTENSION,
        operationId: 'registerFineTuningCheckpoint',
        tags: ['Checkpoint registry'],
        summary: 'Register a checkpoint owned by a project, so permissions can attach to it. Idempotent.',
        security: ADMIN_KEY,
        body: S.RegisterCheckpointRequest,
        response: { 200: Type.Ref(S.FineTuningCheckpoint), ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const { fine_tuned_model_checkpoint, project_id } = request.body;
      const checkpoint = await registerCheckpoint(
        store,
        clock,
        callerOf(request),
        fine_tuned_model_checkpoint,
        project_id,
      );
      return checkpointToWire(checkpoint);
    },
  );

  app.get(
    CHECKPOINTS,
    {
      config: { auth: 'admin' },
      schema: {
        ...EXTENSION,
        operationId: 'listFineTuningCheckpoints',
        tags: ['Checkpoint registry'],
        summary: 'List registered checkpoints, oldest first.',
        security: ADMIN_KEY,
        querystring: S.ListCheckpointsQuery,
        response: { 200: Type.Ref(S.FineTuningCheckpointList), ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const { limit, after, project_id } = request.query;
      const page = await listCheckpoints(store, callerOf(request).orgId, {
        limit,
        ...(after === undefined ? {} : { after }),
        ...(project_id === undefined ? {} : { projectId: project_id }),
      });
      return listToWire(page, checkpointToWire);
    },
  );

  app.get(
    `${CHECKPOINTS}/:fine_tuned_model_checkpoint`,
    {
      config: { auth: 'admin' },
      schema: {
        ...EXTENSION,
        operationId: 'retrieveFineTuningCheckpoint',
        tags: ['Checkpoint registry'],
        summary: 'Retrieve a registered checkpoint.',
        security: ADMIN_KEY,
        params: S.CheckpointParams,
        response: { 200: Type.Ref(S.FineTuningCheckpoint), ...ERROR_RESPONSES },
      },
    },
    async (request) =>
      checkpointToWire(
        await requireCheckpoint(store, callerOf(request).orgId, request.params.fine_tuned_model_checkpoint),
      ),
  );

  app.delete(
    `${CHECKPOINTS}/:fine_tuned_model_checkpoint`,
    {
      config: { auth: 'admin' },
      schema: {
        ...EXTENSION,
        operationId: 'deleteFineTuningCheckpoint',
        tags: ['Checkpoint registry'],
        summary: 'Unregister a checkpoint and revoke all its permissions, in one transaction.',
        security: ADMIN_KEY,
        params: S.CheckpointParams,
        response: { 200: S.DeleteCheckpointResponse, ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const name = request.params.fine_tuned_model_checkpoint;
      await deleteCheckpoint(store, clock, callerOf(request), name);
      return { object: 'fine_tuning.checkpoint' as const, id: name, deleted: true };
    },
  );
}
