import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AccessService } from '../domain/access-service.ts';
import { actorOf, type Caller } from '../domain/auth.ts';
import { adminKeyRecord } from '../domain/bootstrap.ts';
import { mintKey } from '../domain/keys.ts';
import type { Clock } from '../ids.ts';
import type { Store, WriteMeta } from '../storage/store.ts';

/**
 * The emulator's one liberty: what a request names exists. Before a handler runs, every project,
 * checkpoint, service account, project key or admin key named in its path (or a grant's or a
 * registration's body) that does not exist is created, with the name as its id. A DELETE of
 * something that does not exist answers the route's normal success body instead of 404.
 * Creations go through the store like any write (audit events included), made by the emulator key.
 */

/** Owner of the checkpoints the emulator creates on first reference. */
export const DEFAULT_PROJECT_ID = 'proj_default';

/** What the registry accepts as a checkpoint name: one URL path segment, no whitespace. */
const REGISTRABLE = /^[^\s/?#%]{1,256}$/;

type Params = Record<string, string | undefined>;

/** Creations race with each other (two requests naming one new project): a lost race is not an error. */
async function quietly(create: () => Promise<unknown>): Promise<void> {
  try {
    await create();
  } catch {
    // Already created by a concurrent request, or an id another organization holds: the handler
    // then answers as the real server would.
  }
}

function creator(store: Store, clock: Clock, caller: Caller) {
  const meta = (): WriteMeta => ({ actor: actorOf(caller), now: clock.nowSeconds() });
  const { orgId } = caller;

  const project = async (id: string, name = id) => {
    if (await store.getProject(orgId, id)) return;
    await quietly(() =>
      store.createProject(
        { id, orgId, name, externalKeyId: null, createdAt: clock.nowSeconds(), archivedAt: null },
        meta(),
      ),
    );
  };

  const checkpoint = async (name: string) => {
    if (!REGISTRABLE.test(name) || (await store.getCheckpoint(orgId, name))) return;
    await project(DEFAULT_PROJECT_ID, 'Default project');
    await quietly(() =>
      store.registerCheckpoint({ orgId, name, projectId: DEFAULT_PROJECT_ID, createdAt: clock.nowSeconds() }, meta()),
    );
  };

  const serviceAccount = async (projectId: string, id: string) => {
    await project(projectId);
    if (await store.getServiceAccount(orgId, projectId, id)) return;
    await quietly(() =>
      store.createServiceAccount(
        { id, orgId, projectId, name: id, createdAt: clock.nowSeconds(), role: 'member' },
        null,
        meta(),
      ),
    );
  };

  const projectKey = async (projectId: string, id: string) => {
    await project(projectId);
    if (await store.getProjectKey(orgId, projectId, id)) return;
    const owner = `svc_acct_of_${id}`;
    await serviceAccount(projectId, owner);
    const minted = mintKey('project');
    await quietly(() =>
      store.addServiceAccountKey(
        {
          id,
          orgId,
          projectId,
          serviceAccountId: owner,
          kind: 'project',
          name: id,
          hash: minted.hash,
          redacted: minted.redacted,
          createdAt: clock.nowSeconds(),
          revokedAt: null,
          expiresAt: null,
          lastUsedAt: null,
        },
        [],
        meta(),
      ),
    );
  };

  const adminKey = async (id: string) => {
    if (await store.getAdminKey(orgId, id)) return;
    const { secret } = mintKey('admin');
    await quietly(() => store.addApiKey({ ...adminKeyRecord(orgId, id, secret, clock.nowSeconds()), id }, meta()));
  };

  return { project, checkpoint, serviceAccount, projectKey, adminKey };
}

/** Creates what `request` names, before its handler runs. */
async function createReferenced(store: Store, clock: Clock, access: AccessService, request: FastifyRequest) {
  const caller = request.caller;
  if (caller?.kind !== 'admin') return;
  const create = creator(store, clock, caller);
  const params = (request.params ?? {}) as Params;
  const body = (request.body ?? {}) as { project_ids?: unknown; project_id?: unknown };
  const projectId = params.project_id;
  if (projectId !== undefined) await create.project(projectId);
  if (projectId !== undefined && params.service_account_id !== undefined) {
    await create.serviceAccount(projectId, params.service_account_id);
  }
  if (projectId !== undefined && params.api_key_id !== undefined) await create.projectKey(projectId, params.api_key_id);
  if (params.key_id !== undefined) await create.adminKey(params.key_id);
  if (params.fine_tuned_model_checkpoint !== undefined) await create.checkpoint(params.fine_tuned_model_checkpoint);
  if (params.model !== undefined && !access.baseModelSet.has(params.model)) await create.checkpoint(params.model);
  // A grant's projects, and a registration's owner.
  if (Array.isArray(body.project_ids)) {
    for (const id of body.project_ids) if (typeof id === 'string') await create.project(id);
  }
  if (typeof body.project_id === 'string' && request.routeOptions.url === '/v1/fine_tuning/checkpoints') {
    await create.project(body.project_id);
  }
}

/** Each DELETE route's success body, for something that did not exist. */
const DELETED: Record<string, (p: Params) => object> = {
  '/v1/fine_tuning/checkpoints/:fine_tuned_model_checkpoint/permissions/:permission_id': (p) => ({
    object: 'checkpoint.permission',
    id: p.permission_id,
    deleted: true,
  }),
  '/v1/fine_tuning/checkpoints/:fine_tuned_model_checkpoint': (p) => ({
    object: 'fine_tuning.checkpoint',
    id: p.fine_tuned_model_checkpoint,
    deleted: true,
  }),
  '/v1/models/:model': (p) => ({ id: p.model, object: 'model', deleted: true }),
  '/v1/organization/admin_api_keys/:key_id': (p) => ({
    id: p.key_id,
    object: 'organization.admin_api_key.deleted',
    deleted: true,
  }),
  '/v1/organization/projects/:project_id/service_accounts/:service_account_id': (p) => ({
    object: 'organization.project.service_account.deleted',
    id: p.service_account_id,
    deleted: true,
  }),
  '/v1/organization/projects/:project_id/api_keys/:api_key_id': (p) => ({
    object: 'organization.project.api_key.deleted',
    id: p.api_key_id,
    deleted: true,
  }),
  '/v1/organization/projects/:project_id/model_permissions': () => ({
    object: 'project.model_permissions.deleted',
    deleted: true,
  }),
};

export function installReferences(app: FastifyInstance, store: Store, clock: Clock, access: AccessService): void {
  app.addHook('preHandler', async (request) => {
    if (request.method !== 'DELETE') await createReferenced(store, clock, access, request);
  });
  // Deleting what does not exist: the handler answered 404 (nothing was changed); the emulator
  // answers the success body instead. An unknown route (no route url) stays a 404.
  app.addHook('onSend', async (request, reply, payload) => {
    const route = request.routeOptions.url;
    const deleted = route === undefined ? undefined : DELETED[route];
    if (request.method !== 'DELETE' || reply.statusCode !== 404 || !deleted) return payload;
    reply.code(200);
    return JSON.stringify(deleted((request.params ?? {}) as Params));
  });
}
