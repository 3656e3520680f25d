import { randomBase62 } from '../../src/ids.ts';
import type { TestDatabase } from './backends.ts';
import { type RunningServer, startServer } from './server.ts';

/**
 * Helpers for suites that run several `ftshare serve` processes over one database and talk to
 * them over real HTTP, the way a load balancer's clients would.
 */

export const newAdminKey = () => `sk-admin-${randomBase62(40)}`;

export type Reply = {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON shapes
  body: any;
  headers: Headers;
};

/** A bearer-authenticated JSON client of one replica. Every request has a deadline: a hang fails the test. */
export class Client {
  constructor(
    readonly server: RunningServer,
    readonly key: string,
  ) {}

  /** `http://127.0.0.1:PORT` (no /v1). */
  get origin(): string {
    return new URL(this.server.baseURL).origin;
  }

  async request(
    method: string,
    path: string,
    options: { body?: unknown; timeoutMs?: number; auth?: boolean } = {},
  ): Promise<Reply> {
    const url = `${this.origin}${path}`;
    const headers: Record<string, string> = {};
    if (options.auth !== false) headers.authorization = `Bearer ${this.key}`;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(url, {
      method,
      headers,
      ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
      signal: AbortSignal.timeout(options.timeoutMs ?? 15_000),
    });
    const text = await response.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {}
    return { status: response.status, body, headers: response.headers };
  }

  /** Like `request`, but anything other than 200 throws with the reply in the message. */
  async ok(method: string, path: string, body?: unknown): Promise<Reply['body']> {
    const reply = await this.request(method, path, body === undefined ? {} : { body });
    if (reply.status !== 200) {
      throw new Error(`${method} ${path} answered ${reply.status}: ${JSON.stringify(reply.body)}`);
    }
    return reply.body;
  }

  async createProject(name = 'project'): Promise<string> {
    return (await this.ok('POST', '/v1/organization/projects', { name })).id;
  }

  async registerCheckpoint(name: string, projectId: string): Promise<void> {
    await this.ok('POST', '/v1/fine_tuning/checkpoints', { fine_tuned_model_checkpoint: name, project_id: projectId });
  }

  grant(checkpoint: string, projectIds: string[], timeoutMs?: number): Promise<Reply> {
    return this.request('POST', `${permissionsPath(checkpoint)}`, {
      body: { project_ids: projectIds },
      ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    });
  }

  /** One page of a checkpoint's permissions. */
  async listPage(
    checkpoint: string,
    query: { limit?: number; order?: 'ascending' | 'descending'; after?: string; project_id?: string } = {},
  ) {
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(query)) if (value !== undefined) params.set(name, String(value));
    return this.ok('GET', `${permissionsPath(checkpoint)}?${params}`);
  }

  /** Every permission of a checkpoint, paging the way the SDK does. */
  async listAll(checkpoint: string, order: 'ascending' | 'descending' = 'ascending', limit = 100) {
    const all: { id: string; project_id: string; created_at: number }[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await this.listPage(checkpoint, { limit, order, ...(after ? { after } : {}) });
      all.push(...page.data);
      if (!page.has_more) return all;
      after = page.last_id;
    }
  }
}

export const permissionsPath = (checkpoint: string) =>
  `/v1/fine_tuning/checkpoints/${encodeURIComponent(checkpoint)}/permissions`;

let counter = 0;
export const checkpointName = () => `ft:gpt-4o-mini-2024-07-18:acme:replicas${counter++}:${randomBase62(8)}`;

/**
 * Replicas over one database, started together, all stopped by `closeAll()` (SIGKILL for any
 * still running: cleanup must not wait on a server that hangs).
 */
export class ReplicaSet {
  readonly servers: RunningServer[] = [];

  constructor(readonly adminKey = newAdminKey()) {}

  async start(
    count: number,
    database: TestDatabase | string,
    options: { env?: Record<string, string>; args?: string[]; startTimeoutMs?: number } = {},
  ): Promise<Client[]> {
    const db = typeof database === 'string' ? database : database.url;
    const settled = await Promise.allSettled(
      Array.from({ length: count }, () =>
        startServer({ db, adminKey: this.adminKey, ...options }).then((server) => {
          this.servers.push(server);
          return server;
        }),
      ),
    );
    const failed = settled.find((s) => s.status === 'rejected');
    if (failed) throw failed.reason;
    return settled.map((s) => new Client((s as PromiseFulfilledResult<RunningServer>).value, this.adminKey));
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.servers.map((server) => server.kill()));
  }
}

/** Polls `probe` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 15_000,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`${what}: not within ${timeoutMs} ms${last ? ` (last error: ${String(last)})` : ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
