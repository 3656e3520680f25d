import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { randomBase62 } from '../src/ids.ts';
import { type BenchDatabase, postgresDatabase, postgresReachable, sqliteDatabase } from './databases.ts';
import { type Child, killAllChildren, ROOT, startFtshare } from './processes.ts';

/**
 * `npm run soak` (issue 10, item 9): minutes of mixed load on loopback against a real server
 * process, on each store. Every minute: the server's resident set (VmRSS), the p99 latency of
 * that minute's requests, their count, errors, and the machine's load average. At the end:
 * whether RSS and p99 are flat (within ±10 % between the 2nd and the last minute) and whether
 * there were 0 errors. Not part of CI: it takes `--minutes` (10) per store.
 *
 *   npm run soak -- [--minutes 10] [--stores sqlite,postgres] [--concurrency 8] [--postgres URL]
 *
 * The load is closed-loop (each of `--concurrency` clients sends its next request when the last
 * is answered) and bounded in state: a fixed pool of projects and checkpoints whose grants are
 * toggled (single and batch grants, revokes), reads of permission and project lists, models and
 * the audit log, and a trickle of new projects and admin keys created and deleted, so the store
 * grows as a real one does (the audit log, archived projects, revoked keys) while the client's own
 * work per request stays constant.
 */

const { values: args } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    stores: { type: 'string', default: 'sqlite,postgres' },
    concurrency: { type: 'string', default: '8' },
    postgres: { type: 'string', default: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres' },
  },
});
const MINUTES = Number(args.minutes);
const CONCURRENCY = Number(args.concurrency);
const MINUTE_MS = Number(process.env.FTSHARE_SOAK_MINUTE_MS ?? 60_000);

type Minute = {
  minute: number;
  requests: number;
  errors: number;
  p50Ms: number;
  p99Ms: number;
  rssMb: number;
  load1: number;
  /** p99 per kind of request, ms. */
  p99ByKindMs: Record<string, number>;
};

function rssBytes(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match?.[1] ? Number(match[1]) * 1024 : Number.NaN;
}

const percentile = (sorted: number[], p: number) =>
  sorted.length === 0
    ? Number.NaN
    : (sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number);

async function soak(
  store: 'sqlite' | 'postgres',
  database: BenchDatabase,
): Promise<{ minutes: Minute[]; firstErrors: string[] }> {
  const adminKey = `sk-admin-${randomBase62(40)}`;
  const logFile = join(ROOT, 'bench', 'results', `soak-${store}.log`);
  const server: Child = await startFtshare({ db: database.url, adminKey, logLevel: 'warn', logFile });
  const headers = { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' };
  const call = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${server.origin}/v1${path}`, {
      method,
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : null };
  };
  const ok = async (method: string, path: string, body?: unknown) => {
    const answer = await call(method, path, body);
    if (answer.status !== 200) throw new Error(`${method} ${path}: ${answer.status} ${JSON.stringify(answer.body)}`);
    return answer.body;
  };

  try {
    // The fixed pool: 200 projects, 20 checkpoints.
    const owner = (await ok('POST', '/organization/projects', { name: 'owner' })).id as string;
    const projects: string[] = [];
    for (let i = 0; i < 200; i++) projects.push((await ok('POST', '/organization/projects', { name: `p${i}` })).id);
    const checkpoints: string[] = [];
    for (let i = 0; i < 20; i++) {
      const name = `ft:gpt-4o-mini-2024-07-18:acme:soak${i}:${randomBase62(8)}`;
      await ok('POST', '/fine_tuning/checkpoints', { fine_tuned_model_checkpoint: name, project_id: owner });
      checkpoints.push(name);
    }
    /** Per `checkpoint project`: the permission id when granted. */
    const granted = new Map<string, string>();
    const busy = new Set<string>();
    const pick = <T>(items: T[]) => items[Math.floor(Math.random() * items.length)] as T;

    let latencies: number[] = [];
    /** This minute's latencies per kind of request (method and route), to tell which one moves. */
    let byKind = new Map<string, number[]>();
    const kindOf = (method: string, path: string) =>
      `${method} ${path
        .split('?')[0]
        ?.replace(/ft:[^/]+/, '{checkpoint}')
        .replace(/(proj|cp|key)_[A-Za-z0-9]+/g, '{id}')}`;
    let requests = 0;
    let errors = 0;
    const firstErrors: string[] = [];
    const timed = async (method: string, path: string, body?: unknown) => {
      const started = performance.now();
      // biome-ignore lint/suspicious/noExplicitAny: the load reads arbitrary JSON shapes
      let answer: { status: number; body: any } | null = null;
      try {
        answer = await call(method, path, body);
      } catch (error) {
        if (firstErrors.length < 10) firstErrors.push(`${method} ${path}: ${error}`);
      }
      const elapsed = performance.now() - started;
      latencies.push(elapsed);
      const kind = kindOf(method, path);
      const list = byKind.get(kind) ?? [];
      list.push(elapsed);
      byKind.set(kind, list);
      requests++;
      if (answer?.status !== 200) {
        errors++;
        if (answer && firstErrors.length < 10)
          firstErrors.push(`${method} ${path}: ${answer.status} ${JSON.stringify(answer.body)}`);
      }
      return answer?.status === 200 ? answer.body : null;
    };

    const oneRequest = async () => {
      const roll = Math.random();
      const checkpoint = pick(checkpoints);
      const permissions = `/fine_tuning/checkpoints/${checkpoint}/permissions`;
      if (roll < 0.3) return void (await timed('GET', `${permissions}?limit=20`));
      if (roll < 0.42) return void (await timed('GET', '/organization/projects?limit=20'));
      if (roll < 0.5) return void (await timed('GET', '/models'));
      if (roll < 0.55) return void (await timed('GET', '/organization/audit_logs?limit=20'));
      if (roll < 0.8) {
        // Toggle one pair: revoke it if granted, else grant it.
        const project = pick(projects);
        const key = `${checkpoint} ${project}`;
        if (busy.has(key)) return;
        busy.add(key);
        try {
          const id = granted.get(key);
          if (id) {
            if (await timed('DELETE', `${permissions}/${id}`)) granted.delete(key);
          } else {
            const body = await timed('POST', permissions, { project_ids: [project] });
            if (body) granted.set(key, body.data[0].id);
          }
        } finally {
          busy.delete(key);
        }
        return;
      }
      if (roll < 0.9) {
        // A batch grant of up to 5 pairs not granted yet.
        const batch = [...new Set(Array.from({ length: 5 }, () => pick(projects)))].filter(
          (p) => !granted.has(`${checkpoint} ${p}`) && !busy.has(`${checkpoint} ${p}`),
        );
        if (batch.length === 0) return;
        for (const p of batch) busy.add(`${checkpoint} ${p}`);
        try {
          const body = await timed('POST', permissions, { project_ids: batch });
          for (const p of body?.data ?? []) granted.set(`${checkpoint} ${p.project_id}`, p.id);
        } finally {
          for (const p of batch) busy.delete(`${checkpoint} ${p}`);
        }
        return;
      }
      if (roll < 0.95) {
        const created = await timed('POST', '/organization/projects', { name: `soak ${randomBase62(8)}` });
        if (created) await timed('POST', `/organization/projects/${created.id}/archive`);
        return;
      }
      const key = await timed('POST', '/organization/admin_api_keys', { name: `soak ${randomBase62(8)}` });
      if (key) await timed('DELETE', `/organization/admin_api_keys/${key.id}`);
    };

    const minutes: Minute[] = [];
    let stop = false;
    const workers = Array.from({ length: CONCURRENCY }, async () => {
      while (!stop) await oneRequest();
    });
    for (let minute = 1; minute <= MINUTES; minute++) {
      await new Promise((resolve) => setTimeout(resolve, MINUTE_MS));
      const sorted = latencies.sort((a, b) => a - b);
      const sample: Minute = {
        minute,
        requests,
        errors,
        p50Ms: Math.round(percentile(sorted, 50) * 100) / 100,
        p99Ms: Math.round(percentile(sorted, 99) * 100) / 100,
        rssMb: Math.round((rssBytes(server.pid) / 2 ** 20) * 10) / 10,
        load1: Math.round((loadavg()[0] ?? 0) * 100) / 100,
        p99ByKindMs: Object.fromEntries(
          [...byKind].map(([kind, values]) => [
            kind,
            Math.round(
              percentile(
                values.sort((a, b) => a - b),
                99,
              ) * 100,
            ) / 100,
          ]),
        ),
      };
      const slowest = Object.entries(sample.p99ByKindMs).sort((a, b) => b[1] - a[1])[0];
      minutes.push(sample);
      process.stdout.write(
        `  ${store} minute ${minute}: ${sample.requests} requests, ${sample.errors} errors, p50 ${sample.p50Ms} ms, p99 ${sample.p99Ms} ms, RSS ${sample.rssMb} MiB, load ${sample.load1}; slowest p99 ${slowest?.[0]} ${slowest?.[1]} ms\n`,
      );
      latencies = [];
      byKind = new Map();
      requests = 0;
      errors = 0;
    }
    stop = true;
    await Promise.all(workers);
    return { minutes, firstErrors };
  } finally {
    await server.stop();
  }
}

/** Within ±10 % between the 2nd and the last minute. */
function flat(first: number, last: number): { change: number; flat: boolean } {
  const change = (last - first) / first;
  return { change: Math.round(change * 1000) / 10, flat: Math.abs(change) <= 0.1 };
}

process.on('SIGINT', () => {
  killAllChildren();
  process.exit(130);
});

const results: Record<string, unknown> = {};
let allGood = true;
try {
  for (const store of args.stores.split(',') as ('sqlite' | 'postgres')[]) {
    if (store === 'postgres') {
      const problem = await postgresReachable(args.postgres);
      if (problem) {
        process.stdout.write(`postgres: NOT soaked, ${args.postgres} is unreachable (${problem})\n`);
        allGood = false;
        continue;
      }
    }
    const database = store === 'sqlite' ? sqliteDatabase('soak') : await postgresDatabase(args.postgres, 'soak');
    process.stdout.write(
      `${store}: ${MINUTES} minutes, ${CONCURRENCY} clients, load average at start ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}\n`,
    );
    try {
      const { minutes, firstErrors } = await soak(store, database);
      const second = minutes[Math.min(1, minutes.length - 1)] as Minute;
      const last = minutes.at(-1) as Minute;
      const rss = flat(second.rssMb, last.rssMb);
      const p99 = flat(second.p99Ms, last.p99Ms);
      const errors = minutes.reduce((sum, m) => sum + m.errors, 0);
      const verdict = {
        rssFlat: rss.flat,
        rssChangePercent: rss.change,
        p99Flat: p99.flat,
        p99ChangePercent: p99.change,
        errors,
      };
      results[store] = { minutes, verdict, firstErrors };
      allGood &&= rss.flat && p99.flat && errors === 0;
      process.stdout.write(
        `${store}: RSS ${second.rssMb} → ${last.rssMb} MiB (${rss.change} %, ${rss.flat ? 'flat' : 'NOT flat'}); p99 ${second.p99Ms} → ${last.p99Ms} ms (${p99.change} %, ${p99.flat ? 'flat' : 'NOT flat'}); ${errors} errors\n`,
      );
      for (const error of firstErrors) process.stdout.write(`  error: ${error}\n`);
    } finally {
      await database.drop();
    }
  }
} finally {
  killAllChildren();
}

const dir = join(ROOT, 'bench', 'results');
mkdirSync(dir, { recursive: true });
const file = join(dir, `soak-${new Date().toISOString().replaceAll(':', '-')}.json`);
writeFileSync(file, `${JSON.stringify({ minutes: MINUTES, concurrency: CONCURRENCY, results }, null, 2)}\n`);
process.stdout.write(`results: ${file}\n`);
process.exit(allGood ? 0 : 1);
