import { randomBase62 } from '../../src/ids.ts';
import { type Export, Ledger } from './ledger.ts';

/**
 * Mixed concurrent writes against a real server — grants (one project or a batch), revokes,
 * project creates and archives, admin key creates and deletes, service accounts (project keys) —
 * recorded in a `Ledger`, so that whatever ends the run (SIGKILL, SIGTERM, a database outage) the
 * store can be checked against what was acknowledged.
 */

/**
 * The seed of a run's random choices, FTSHARE_FAULT_SEED when set (`npm run test:reliability` sets
 * one for every suite and prints it): a failing run replays with the same value.
 */
export const FAULT_SEED = Number(process.env.FTSHARE_FAULT_SEED ?? Math.floor(Math.random() * 2 ** 31));

/** A small seeded PRNG (mulberry32): a failing run replays with its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type Answer = {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON shapes
  body: any;
  headers: Headers;
  sentAt: number;
  answeredAt: number;
};

/** Thrown for a request that got no HTTP answer (refused, reset, cut off by a kill). */
export class NoAnswer extends Error {}

export async function request(
  origin: string,
  key: string,
  method: string,
  path: string,
  body?: unknown,
  timeoutMs = 20_000,
): Promise<Answer> {
  const sentAt = performance.now();
  let response: Response;
  let text: string;
  try {
    response = await fetch(`${origin}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${key}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    text = await response.text();
  } catch (error) {
    throw new NoAnswer(
      `${method} ${path}: ${error instanceof Error ? `${error.message} ${error.cause ?? ''}` : error}`,
    );
  }
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {}
  return { status: response.status, body: parsed, headers: response.headers, sentAt, answeredAt: performance.now() };
}

export async function exportState(origin: string, key: string): Promise<Export> {
  const answer = await request(origin, key, 'GET', '/v1/organization/export', undefined, 60_000);
  if (answer.status !== 200) throw new Error(`export answered ${answer.status}: ${JSON.stringify(answer.body)}`);
  return answer.body as Export;
}

const permissionsPath = (checkpoint: string) => `/v1/fine_tuning/checkpoints/${checkpoint}/permissions`;

export type Tally = {
  /** Answers by status. */
  statuses: Map<number, number>;
  /** Requests that got no answer. */
  noAnswer: number;
  /** When each of them was sent and given up (performance.now()). */
  unanswered: { sentAt: number; failedAt: number }[];
  /** Every answer other than a 200 (kept for the checks: at most the first 50). */
  unexpected: Answer[];
  answers: Answer[];
};

export type RunOptions = {
  origin: string;
  adminKey: string;
  ledger: Ledger;
  random: () => number;
  concurrency: number;
  /** Stop issuing new writes once this returns true. */
  stopped: () => boolean;
  /** Called with every answer as it arrives (kill right after an acknowledgement, measure recovery…). */
  onAnswer?: (answer: Answer) => void;
  /** Pause after an answer other than 200 (a 503 during an outage): ms. */
  pauseAfterFailureMs?: number;
  /** Keep every answer in `answers` (for timing figures). */
  keepAnswers?: boolean;
};

/** A ledger of a fresh server: its keys as they are at start (bootstrap), then the seed below. */
export async function startLedger(origin: string, adminKey: string): Promise<Ledger> {
  const ledger = new Ledger(new Set((await exportState(origin, adminKey)).api_keys.map((k) => k.id)));
  await seedLedger(origin, adminKey, ledger);
  return ledger;
}

/** Creates the organization's starting projects and checkpoints (acknowledged, before any fault). */
export async function seedLedger(origin: string, adminKey: string, ledger: Ledger, projects = 12, checkpoints = 4) {
  const ok = async (method: string, path: string, body?: unknown) => {
    const answer = await request(origin, adminKey, method, path, body);
    if (answer.status !== 200) throw new Error(`${method} ${path}: ${answer.status} ${JSON.stringify(answer.body)}`);
    return answer.body;
  };
  const owner = (await ok('POST', '/v1/organization/projects', { name: 'checkpoint owner' })).id as string;
  ledger.projectCreated(owner);
  for (let i = 0; i < projects; i++) {
    ledger.projectCreated((await ok('POST', '/v1/organization/projects', { name: `seed ${i}` })).id);
  }
  for (let i = 0; i < checkpoints; i++) {
    const name = `ft:gpt-4o-mini-2024-07-18:acme:faults${i}:${randomBase62(8)}`;
    await ok('POST', '/v1/fine_tuning/checkpoints', { fine_tuned_model_checkpoint: name, project_id: owner });
    ledger.checkpoints.push(name);
  }
  // The owner is never archived, so the checkpoints always have a live owner.
  ledger.reserve(`project:${owner}`);
}

/**
 * Runs `concurrency` workers, each issuing one write after another, until `stopped()`. Every
 * outcome goes into the ledger: a 200 as acknowledged, anything else as unknown (a 503's write
 * may have committed before the connection to the database broke).
 */
export async function runWrites(options: RunOptions): Promise<Tally> {
  const tally: Tally = { statuses: new Map(), noAnswer: 0, unanswered: [], unexpected: [], answers: [] };
  const worker = async () => {
    while (!options.stopped()) {
      const ok = await oneWrite(options, tally);
      if (!ok && options.pauseAfterFailureMs) {
        await new Promise((resolve) => setTimeout(resolve, options.pauseAfterFailureMs));
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  return tally;
}

/** One write picked at random; true when it was acknowledged. */
async function oneWrite(options: RunOptions, tally: Tally): Promise<boolean> {
  const { ledger, random } = options;
  const pick = <T>(items: T[]): T | undefined => items[Math.floor(random() * items.length)];
  const send = async (method: string, path: string, body: unknown, reserved: string[]) => {
    const sentAt = performance.now();
    try {
      const answer = await request(options.origin, options.adminKey, method, path, body);
      tally.statuses.set(answer.status, (tally.statuses.get(answer.status) ?? 0) + 1);
      if (answer.status !== 200 && tally.unexpected.length < 50) tally.unexpected.push(answer);
      if (options.keepAnswers) tally.answers.push(answer);
      options.onAnswer?.(answer);
      return answer;
    } catch (error) {
      if (!(error instanceof NoAnswer)) throw error;
      tally.noAnswer++;
      tally.unanswered.push({ sentAt, failedAt: performance.now() });
      return null;
    } finally {
      ledger.release(...reserved);
    }
  };
  const roll = random();

  if (roll < 0.35) {
    // A grant: one project, or a batch of up to 6.
    const checkpoint = pick(ledger.checkpoints);
    if (!checkpoint) return false;
    const size = random() < 0.5 ? 1 : 2 + Math.floor(random() * 5);
    const candidates = ledger
      .grantable(checkpoint, ledger.activeProjects())
      .filter(
        (project) =>
          !ledger.isReserved(`project:${project}`) && !ledger.isReserved(Ledger.pairKey(checkpoint, project)),
      );
    const projects = shuffle(candidates, random).slice(0, size);
    if (projects.length === 0) return false;
    // Grants hold their projects against an archive, and their pairs against other grants and revokes.
    const reserved = [
      ...projects.map((p) => `grant-project:${p}`),
      ...projects.map((p) => Ledger.pairKey(checkpoint, p)),
    ];
    if (!ledger.reserve(...reserved)) return false;
    const answer = await send('POST', permissionsPath(checkpoint), { project_ids: projects }, reserved);
    if (answer?.status === 200) ledger.granted(checkpoint, answer.body.data);
    else ledger.grantUnknown(checkpoint, projects);
    return answer?.status === 200;
  }
  if (roll < 0.55) {
    const permission = pick(ledger.livePermissions());
    if (!permission) return false;
    const key = Ledger.pairKey(permission.checkpoint, permission.project_id);
    if (!ledger.reserve(key)) return false;
    const answer = await send('DELETE', `${permissionsPath(permission.checkpoint)}/${permission.id}`, undefined, [key]);
    if (answer?.status === 200) ledger.revoked(permission);
    else ledger.revokeUnknown(permission);
    return answer?.status === 200;
  }
  if (roll < 0.7) {
    const name = `project ${randomBase62(12)}`;
    const answer = await send('POST', '/v1/organization/projects', { name }, []);
    if (answer?.status === 200) ledger.projectCreated(answer.body.id);
    else ledger.projectCreateUnknown(name);
    return answer?.status === 200;
  }
  if (roll < 0.76) {
    // Archive: only with plenty of active projects left, and none a grant in flight names.
    const active = ledger.activeProjects();
    if (active.length < 10) return false;
    const project = pick(active);
    if (!project || ledger.isReserved(`grant-project:${project}`)) return false;
    const reserved = [`project:${project}`, `grant-project:${project}`];
    if (!ledger.reserve(...reserved)) return false;
    const answer = await send('POST', `/v1/organization/projects/${project}/archive`, undefined, reserved);
    ledger.archived(project, answer?.status === 200);
    return answer?.status === 200;
  }
  if (roll < 0.86) {
    const name = `key ${randomBase62(12)}`;
    const answer = await send('POST', '/v1/organization/admin_api_keys', { name }, []);
    if (answer?.status === 200) ledger.adminKeyCreated(answer.body.id, answer.body.value);
    else ledger.adminKeyCreateUnknown(name);
    return answer?.status === 200;
  }
  if (roll < 0.94) {
    const live = [...ledger.adminKeys].filter(([, k]) => k.state === 'known' && k.value.live).map(([id]) => id);
    const id = pick(live);
    if (!id || !ledger.reserve(`key:${id}`)) return false;
    const answer = await send('DELETE', `/v1/organization/admin_api_keys/${id}`, undefined, [`key:${id}`]);
    ledger.adminKeyDeleted(id, answer?.status === 200);
    return answer?.status === 200;
  }
  const project = pick(ledger.activeProjects());
  if (!project || !ledger.reserve(`project:${project}`)) return false;
  const name = `account ${randomBase62(12)}`;
  const answer = await send('POST', `/v1/organization/projects/${project}/service_accounts`, { name }, [
    `project:${project}`,
  ]);
  if (answer?.status === 200) ledger.serviceAccountCreated(answer.body.id);
  else ledger.serviceAccountCreateUnknown(name, project);
  return answer?.status === 200;
}

function shuffle<T>(items: T[], random: () => number): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
  }
  return copy;
}
