import { Type } from '@sinclair/typebox';
import * as models from '../../domain/models.ts';
import { callerOf } from '../auth.ts';
import { type App, ERROR_RESPONSES, type RouteDeps } from '../deps.ts';
import { ADMIN_KEY, ANY_KEY, EXTENSION } from '../openapi.ts';
import * as M from '../schemas-models.ts';
import { modelToWire } from '../wire.ts';

const TAGS = ['Models'];

/**
 * CONTRACT §5/§5a: `/v1/models` answers what the calling key may use, and the gateway's batch
 * check (an extension) answers why, both from one decision (src/domain/access.ts).
 */
export function modelRoutes(app: App, { store, clock, access }: RouteDeps): void {
  app.get(
    '/v1/models',
    {
      config: { auth: 'any' },
      schema: {
        operationId: 'listModels',
        tags: TAGS,
        summary:
          'The models the calling key may use: a project key’s project’s (base models, its own checkpoints, those shared with it, after its model permissions); every model of the organization for an admin key.',
        security: ANY_KEY,
        response: { 200: Type.Ref(M.ListModelsResponse), ...ERROR_RESPONSES },
      },
    },
    async (request) => ({
      object: 'list' as const,
      data: (await models.listModels(access, store, callerOf(request))).map(modelToWire),
    }),
  );

  app.get(
    '/v1/models/:model',
    {
      config: { auth: 'any' },
      schema: {
        operationId: 'retrieveModel',
        tags: TAGS,
        summary: 'A model the calling key may use; any other, unknown or not allowed alike, is 404 `model_not_found`.',
        security: ANY_KEY,
        params: M.ModelParams,
        response: { 200: Type.Ref(M.Model), ...ERROR_RESPONSES },
      },
    },
    async (request) => modelToWire(await models.retrieveModel(access, store, callerOf(request), request.params.model)),
  );

  app.delete(
    '/v1/models/:model',
    {
      config: { auth: 'admin' },
      schema: {
        operationId: 'deleteModel',
        tags: TAGS,
        summary: 'Delete a registered checkpoint and all its permissions. Base models cannot be deleted (400).',
        security: ADMIN_KEY,
        params: M.ModelParams,
        response: { 200: M.DeleteModelResponse, ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      await models.deleteModel(access, store, clock, callerOf(request), request.params.model);
      return { id: request.params.model, object: 'model' as const, deleted: true };
    },
  );

  app.post(
    '/v1/organization/model_access',
    {
      config: { auth: 'admin' },
      schema: {
        ...EXTENSION,
        operationId: 'checkModelAccess',
        tags: TAGS,
        summary:
          'For gateways: may each project use each model, and why. 1–1000 checks, answered in request order; an unknown project or model is an answer (allowed: false), not an error.',
        security: ADMIN_KEY,
        body: M.ModelAccessRequest,
        response: { 200: M.ModelAccessResponse, ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const checks = request.body.checks.map((c) => ({ projectId: c.project_id, model: c.model }));
      const results = await models.checkModelAccess(access, store, callerOf(request), checks);
      return {
        object: 'list' as const,
        data: results.map((r) => ({
          object: 'model_access' as const,
          project_id: r.projectId,
          model: r.model,
          allowed: r.allowed,
          reason: r.reason,
        })),
      };
    },
  );
}
