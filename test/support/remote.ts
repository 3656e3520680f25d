import { randomBase62 } from '../../src/ids.ts';

/**
 * Helpers for suites that talk to a child server (test/support/server.ts) over real HTTP.
 */

/** A fresh admin key for FTSHARE_ADMIN_KEY. */
export const newAdminKey = () => `sk-admin-${randomBase62(40)}`;

export type Reply = {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON shapes
  body: any;
  headers: Headers;
};

/** A JSON client for `baseURL` (…/v1) with `key`: `api('POST', '/organization/projects', {name})`. */
export function jsonClient(baseURL: string, key: string) {
  return async (method: string, path: string, body?: unknown): Promise<Reply> => {
    const response = await fetch(`${baseURL}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${key}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {}
    return { status: response.status, body: parsed, headers: response.headers };
  };
}

export type JsonClient = ReturnType<typeof jsonClient>;

/** Throws with the reply when `reply.status` is not 200; returns the body otherwise. */
// biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON shapes
export function ok(reply: Reply, what: string): any {
  if (reply.status !== 200) throw new Error(`${what}: ${reply.status} ${JSON.stringify(reply.body)}`);
  return reply.body;
}

/** Creates `count` projects through the API, returning their ids in creation order. */
export async function createProjects(api: JsonClient, count: number, prefix = 'project'): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    ids.push(ok(await api('POST', '/organization/projects', { name: `${prefix} ${i}` }), 'project create').id);
  }
  return ids;
}

/** Registers `checkpoint` as owned by `projectId` (the extension route). */
export async function registerCheckpoint(api: JsonClient, checkpoint: string, projectId: string): Promise<void> {
  ok(
    await api('POST', '/fine_tuning/checkpoints', { fine_tuned_model_checkpoint: checkpoint, project_id: projectId }),
    'checkpoint register',
  );
}
