import { Type } from '@sinclair/typebox';
import * as rules from '../../domain/model-rules.ts';
import { callerOf } from '../auth.ts';
import { type App, ERROR_RESPONSES, type RouteDeps } from '../deps.ts';
import { ADMIN_KEY } from '../openapi.ts';
import * as S from '../schemas.ts';
import * as M from '../schemas-models.ts';
import { modelRuleToWire } from '../wire.ts';

const RULE = '/v1/organization/projects/:project_id/model_permissions';
const TAGS = ['Projects'];

/** CONTRACT §5: a project's model permissions, the allow/deny list that filters what it may use. */
export function modelPermissionRoutes(app: App, { store, clock }: RouteDeps): void {
  app.get(
    RULE,
    {
      config: { auth: 'admin' },
      schema: {
        operationId: 'retrieve-project-model-permissions',
        tags: TAGS,
        summary: 'The project’s model permissions; with none set, a deny list of nothing.',
        security: ADMIN_KEY,
        params: S.ProjectParams,
        response: { 200: Type.Ref(M.ProjectModelPermissions), ...ERROR_RESPONSES },
      },
    },
    async (request) =>
      modelRuleToWire(await rules.getModelRule(store, callerOf(request).orgId, request.params.project_id)),
  );

  app.post(
    RULE,
    {
      config: { auth: 'admin' },
      schema: {
        operationId: 'update-project-model-permissions',
        tags: TAGS,
        summary: 'Replace the project’s model permissions; in force from the next request, on every replica.',
        security: ADMIN_KEY,
        params: S.ProjectParams,
        body: M.ProjectModelPermissionsUpdateRequest,
        response: { 200: Type.Ref(M.ProjectModelPermissions), ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const rule = await rules.setModelRule(store, clock, callerOf(request), request.params.project_id, {
        mode: request.body.mode,
        modelIds: request.body.model_ids,
      });
      return modelRuleToWire(rule);
    },
  );

  app.delete(
    RULE,
    {
      config: { auth: 'admin' },
      schema: {
        operationId: 'delete-project-model-permissions',
        tags: TAGS,
        summary: 'Remove the project’s model permissions (nothing blocked any more); with none set, still 200.',
        security: ADMIN_KEY,
        params: S.ProjectParams,
        response: { 200: M.ProjectModelPermissionsDeleteResponse, ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      await rules.deleteModelRule(store, clock, callerOf(request), request.params.project_id);
      return { object: 'project.model_permissions.deleted' as const, deleted: true };
    },
  );
}
