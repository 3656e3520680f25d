import { Type } from '@sinclair/typebox';
import * as projects from '../../domain/projects.ts';
import { callerOf } from '../auth.ts';
import { type App, ERROR_RESPONSES, type RouteDeps } from '../deps.ts';
import { ADMIN_KEY } from '../openapi.ts';
import * as S from '../schemas.ts';
import { listToWire, projectToWire } from '../wire.ts';

const PROJECTS = '/v1/organization/projects';
const PROJECT = `${PROJECTS}/:project_id`;
const TAGS = ['Projects'];

/** CONTRACT §5: OpenAI's projects API, so that grants name real projects. */
export function projectRoutes(app: App, { store, clock }: RouteDeps): void {
  app.post(
    PROJECTS,
    {
      config: { auth: 'admin' },
      schema: {
        operationId: 'create-project',
        tags: TAGS,
        summary: 'Create a project in the organization. Projects can be archived, not deleted.',
        security: ADMIN_KEY,
        body: S.ProjectCreateRequest,
        response: { 200: Type.Ref(S.Project), ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const { name, external_key_id } = request.body;
      const project = await projects.createProject(store, clock, callerOf(request), {
        name,
        externalKeyId: external_key_id ?? null,
      });
      return projectToWire(project);
    },
  );

  app.get(
    PROJECTS,
    {
      config: { auth: 'admin' },
      schema: {
        operationId: 'list-projects',
        tags: TAGS,
        summary: 'List the organization’s projects, oldest first.',
        security: ADMIN_KEY,
        querystring: S.ListProjectsQuery,
        response: { 200: Type.Ref(S.ProjectListResponse), ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const { limit, after, include_archived } = request.query;
      const page = await projects.listProjects(store, callerOf(request).orgId, {
        limit,
        includeArchived: include_archived,
        ...(after === undefined ? {} : { after }),
      });
      return listToWire(page, projectToWire);
    },
  );

  app.get(
    PROJECT,
    {
      config: { auth: 'admin' },
      schema: {
        operationId: 'retrieve-project',
        tags: TAGS,
        summary: 'Retrieve a project.',
        security: ADMIN_KEY,
        params: S.ProjectParams,
        response: { 200: Type.Ref(S.Project), ...ERROR_RESPONSES },
      },
    },
    async (request) =>
      projectToWire(await projects.getProject(store, callerOf(request).orgId, request.params.project_id)),
  );

  app.post(
    PROJECT,
    {
      config: { auth: 'admin' },
      schema: {
        operationId: 'modify-project',
        tags: TAGS,
        summary: 'Modify a project’s name or external key id.',
        security: ADMIN_KEY,
        params: S.ProjectParams,
        body: S.ProjectUpdateRequest,
        response: { 200: Type.Ref(S.Project), ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const { name, external_key_id } = request.body;
      const project = await projects.updateProject(store, clock, callerOf(request), request.params.project_id, {
        // A null name (openai 7.x types allow it) leaves the name as it is.
        ...(name === undefined || name === null ? {} : { name }),
        ...(external_key_id === undefined ? {} : { externalKeyId: external_key_id }),
      });
      return projectToWire(project);
    },
  );

  app.post(
    `${PROJECT}/archive`,
    {
      config: { auth: 'admin' },
      schema: {
        operationId: 'archive-project',
        tags: TAGS,
        summary: 'Archive a project: it keeps its permissions but can receive no new grants.',
        security: ADMIN_KEY,
        params: S.ProjectParams,
        response: { 200: Type.Ref(S.Project), ...ERROR_RESPONSES },
      },
    },
    async (request) =>
      projectToWire(await projects.archiveProject(store, clock, callerOf(request), request.params.project_id)),
  );
}
