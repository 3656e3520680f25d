import type { FastifyInstance, InjectOptions } from 'fastify';
import { buildApp } from '../../src/app.ts';
import { createOrganization } from '../../src/domain/bootstrap.ts';
import { type Clock, systemClock } from '../../src/ids.ts';
import type { Store } from '../../src/storage/store.ts';

/** An organization of its own for one test: tests on a shared store never see each other's data. */
export type TestOrg = { orgId: string; adminKey: string };

export async function newOrg(store: Store, clock: Clock = systemClock): Promise<TestOrg> {
  const { orgId, secret } = await createOrganization(store, clock, `test org ${Math.random().toString(36).slice(2)}`);
  return { orgId, adminKey: secret };
}

export const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

/** An in-process app (no port) over `store`. */
export async function testApp(store: Store, clock?: Clock): Promise<FastifyInstance> {
  return (await buildApp({ store, ...(clock ? { clock } : {}) })) as unknown as FastifyInstance;
}

/** `app.inject` returning status, parsed JSON body and headers. */
export async function call(app: FastifyInstance, options: InjectOptions) {
  const response = await app.inject(options);
  let body: unknown;
  try {
    body = response.json();
  } catch {
    body = response.body;
  }
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON shapes
  return { status: response.statusCode, body: body as any, headers: response.headers };
}

/** Creates a project through the API and returns its id. */
export async function createProject(app: FastifyInstance, adminKey: string, name = 'project'): Promise<string> {
  const { status, body } = await call(app, {
    method: 'POST',
    url: '/v1/organization/projects',
    headers: bearer(adminKey),
    payload: { name },
  });
  if (status !== 200) throw new Error(`project create failed: ${status} ${JSON.stringify(body)}`);
  return body.id;
}

/** Registers a checkpoint owned by `projectId` through the extension route. */
export async function registerCheckpoint(
  app: FastifyInstance,
  adminKey: string,
  name: string,
  projectId: string,
): Promise<void> {
  const { status, body } = await call(app, {
    method: 'POST',
    url: '/v1/fine_tuning/checkpoints',
    headers: bearer(adminKey),
    payload: { fine_tuned_model_checkpoint: name, project_id: projectId },
  });
  if (status !== 200) throw new Error(`checkpoint register failed: ${status} ${JSON.stringify(body)}`);
}

/** A project key (via a service account) of `projectId`. */
export async function projectKey(app: FastifyInstance, adminKey: string, projectId: string): Promise<string> {
  const { status, body } = await call(app, {
    method: 'POST',
    url: `/v1/organization/projects/${projectId}/service_accounts`,
    headers: bearer(adminKey),
    payload: { name: 'ci' },
  });
  if (status !== 200) throw new Error(`service account create failed: ${status} ${JSON.stringify(body)}`);
  return body.api_key.value;
}

let counter = 0;
/** A unique, realistic checkpoint name (colons included). */
export const checkpointName = (suffix = '') =>
  `ft:gpt-4o-mini-2024-07-18:acme:weather${counter++}:${Math.random().toString(36).slice(2, 10)}${suffix}`;
