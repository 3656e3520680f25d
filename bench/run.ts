import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type BenchDatabase, postgresDatabase, postgresReachable, sqliteDatabase } from './databases.ts';
import { type AuditWritesResult, type DecisionResult, measureAuditWrites, measureDecision } from './in-process.ts';
import { type LoadResult, type LoadSettings, measure } from './load.ts';
import { type Child, killAllChildren, ROOT, startBaseline, startFtshare } from './processes.ts';
import { type Block, evaluate, type Measurement, machine, type Report, renderText, writeReport } from './report.ts';
import { benchAdminKey, type Dataset, openBenchStore, SIZES, type SizeSpec, seed, seedDeletePool } from './seed.ts';
import { measureStartup, STARTUP_MODES, type StartupResult } from './startup.ts';
import { measureTransfer, type TransferResult } from './transfer.ts';

/**
 * `npm run bench [-- --quick] [-- --postgres URL]`: the real server as a child process on
 * loopback, seeded through the Store at a small and a large size, loaded with autocannon, each
 * route's throughput compared with a minimal Fastify server measured in the same run.
 * See bench/README.md for what each figure means.
 */
const USAGE = `usage: npm run bench -- [options]
  --quick                  a shorter run: 1 s warm-up + 2 s per route, large size 100,000
  --postgres <url>         also run on PostgreSQL (default: $DATABASE_URL when set); the bench creates
                           and drops a database of its own through this URL
  --stores <list>          sqlite,postgres (default: sqlite, plus postgres when configured)
  --sizes <list>           small,large (default both)
  --connections <n>        default 50
  --warmup <s>             default 3 (quick 1)
  --duration <s>           default 10 (quick 2)
  --routes <list>          only these of: list desc,list asc,list after,models get,models list,audit page,
                           create,delete (the baseline always runs)
  --log-level <level>      the server's log level (default warn; info adds one access line per request, to a file)
  --profile                write V8 CPU profiles of the servers to bench/results/profiles/
  --skip-in-process        leave out the in-process figures (the access decision, audited writes)
  --startup-runs <n>       timed starts per store in the start-up block (default 5; the median is reported)
  --startup-only           only the start-up block
  --skip-startup           no start-up block
  --help`;

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    postgres: { type: 'string' },
    stores: { type: 'string' },
    sizes: { type: 'string', default: 'small,large' },
    connections: { type: 'string' },
    warmup: { type: 'string' },
    duration: { type: 'string' },
    routes: { type: 'string' },
    'log-level': { type: 'string', default: 'warn' },
    profile: { type: 'boolean', default: false },
    'skip-in-process': { type: 'boolean', default: false },
    'startup-runs': { type: 'string', default: '5' },
    'startup-only': { type: 'boolean', default: false },
    'skip-startup': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (args.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}

const mode: Report['mode'] = args['startup-only'] ? 'startup' : args.quick ? 'quick' : 'full';
const settings: LoadSettings = {
  connections: Number(args.connections ?? 50),
  warmupSeconds: Number(args.warmup ?? (args.quick ? 1 : 3)),
  durationSeconds: Number(args.duration ?? (args.quick ? 2 : 10)),
};
const logLevel = args['log-level'];
const sizes: SizeSpec[] = (args.sizes ?? '').split(',').map((name) => {
  if (name === 'small') return SIZES.small;
  if (name === 'large') {
    // Quick mode keeps the large shape at a tenth of the rows, so seeding fits its time budget.
    return args.quick
      ? { label: 'large', permissions: 100_000, checkpoints: 1_000, projects: 2_000, auditEvents: 100_000 }
      : SIZES.large;
  }
  throw new Error(`unknown size ${name}\n${USAGE}`);
});
const ALL_ROUTES = 'list desc,list asc,list after,models get,models list,audit page,create,delete';
const routes = new Set((args.routes ?? ALL_ROUTES).split(','));
const postgresUrl = args.postgres ?? process.env.DATABASE_URL;
const stores = (args.stores ?? (postgresUrl ? 'sqlite,postgres' : 'sqlite')).split(',').map((name) => {
  if (name !== 'sqlite' && name !== 'postgres') throw new Error(`unknown store ${name}\n${USAGE}`);
  return name;
});

const log = (line: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
const scratch = join(tmpdir(), `ftshare-bench-${process.pid}`);
const profileDir = (label: string) => (args.profile ? join(ROOT, 'bench', 'results', 'profiles', label) : undefined);

/** Databases still to drop: on an error or Ctrl-C they are dropped before the process exits. */
const databases = new Set<BenchDatabase>();
async function cleanUp(): Promise<void> {
  killAllChildren();
  for (const database of databases) await database.drop().catch(() => {});
  databases.clear();
  rmSync(scratch, { recursive: true, force: true });
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    log(`${signal}: stopping children and dropping the bench databases`);
    void cleanUp().finally(() => process.exit(130));
  });
}

/** The block's baseline row: the run with the median throughput of those measured before each route. */
function medianBaseline(runs: LoadResult[]): Measurement[] {
  const sorted = [...runs].sort((a, b) => a.rps - b.rps);
  const median = sorted[Math.floor((sorted.length - 1) / 2)];
  return median ? [{ ...median, route: 'baseline', ratio: null, baselineRps: null, permissionsAtStart: 0 }] : [];
}

async function expectOk(response: Response, what: string): Promise<string> {
  const text = await response.text();
  if (response.status !== 200) throw new Error(`${what} answered ${response.status}: ${text}`);
  return text;
}

/** One (store, size): seed, start the server, measure every route against a fresh baseline. */
async function runBlock(store: Block['store'], size: SizeSpec): Promise<Block> {
  const tag = `${store}-${size.label}`;
  let database: BenchDatabase;
  if (store === 'sqlite') database = sqliteDatabase(size.label);
  else if (postgresUrl) database = await postgresDatabase(postgresUrl, size.label);
  else throw new Error('no PostgreSQL configured');
  databases.add(database);

  log(`${tag}: seeding ${size.permissions.toLocaleString('en-US')} permissions`);
  let handle = await openBenchStore(database.url);
  let dataset: Dataset;
  try {
    dataset = await seed(handle, size, benchAdminKey());
  } finally {
    await handle.close();
  }
  await database.analyze();
  log(`${tag}: seeded in ${dataset.seedSeconds.toFixed(1)} s`);

  const serverOptions = {
    db: database.url,
    adminKey: dataset.adminKey,
    logLevel,
    logFile: join(scratch, `${tag}.log`),
    ...(profileDir(tag) ? { cpuProfileDir: profileDir(tag) as string } : {}),
  };
  // `let`: the create run is repeated on a server writing no audit events, then this one restarts.
  let server = await startFtshare(serverOptions);
  const measurements: Measurement[] = [];
  let permissions = dataset.permissions;
  let deletePool = 0;
  let listBodyBytes = 0;
  let peakRssBytes = Number.NaN;
  let baseline: Child | undefined;
  let modelsBaseline: Child | undefined;
  let modelsListBytes = 0;
  const baselines: LoadResult[] = [];
  const blockResult = (): Block => ({
    store,
    size: size.label,
    permissions: dataset.permissions,
    checkpoints: size.checkpoints + dataset.createTargets.length,
    projects: size.projects,
    seed: {
      permissions: dataset.permissions,
      seconds: dataset.seedSeconds,
      perSecond: dataset.permissions / dataset.seedSeconds,
    },
    listBodyBytes,
    modelsListBytes,
    auditEvents: dataset.auditEvents,
    deletePool,
    peakRssBytes,
    measurements: [...medianBaseline(baselines), ...measurements],
  });
  try {
    const headers = { authorization: `Bearer ${dataset.adminKey}` };
    const base = `/v1/fine_tuning/checkpoints/${dataset.hotCheckpoint}/permissions`;
    const lists = {
      'list desc': `${base}?limit=10&order=descending`,
      'list asc': `${base}?limit=10&order=ascending`,
      'list after': `${base}?limit=10&after=${dataset.deepCursor}`,
    } as const;

    // Every request kind is checked once before it is timed: a fast wrong answer is no figure.
    for (const [route, path] of Object.entries(lists)) {
      const body = await expectOk(await fetch(`${server.origin}${path}`, { headers }), route);
      const page = JSON.parse(body) as { data: unknown[]; has_more: boolean };
      if (page.data.length !== 10 || !page.has_more) throw new Error(`${route}: unexpected page ${body.slice(0, 200)}`);
      if (route === 'list desc') listBodyBytes = Buffer.byteLength(body);
    }

    // The baseline: same machine, same request line and headers, a body of the same size, and
    // measured right before each route, so each ratio compares two runs a few seconds apart on a
    // machine whose load from elsewhere may drift.
    baseline = await startBaseline(listBodyBytes, join(scratch, `${tag}-baseline.log`), profileDir(`${tag}-baseline`));
    const baselineSpec = { method: 'GET', headers, path: lists['list desc'] } as const;

    const run = async (
      route: Exclude<Measurement['route'], 'baseline'>,
      spec: Parameters<typeof measure>[1],
      against: { server: Child | undefined; spec: Parameters<typeof measure>[1] } = {
        server: baseline,
        spec: baselineSpec,
      },
    ) => {
      log(
        `${tag}: ${route} (baseline, then the route: ${settings.warmupSeconds} s warm-up + ${settings.durationSeconds} s each)`,
      );
      const base = (await measure(against.server?.origin ?? '', against.spec, settings, against.server?.pid)).result;
      if (against.server === baseline) baselines.push(base);
      const permissionsAtStart = permissions;
      const { warmup, result } = await measure(server.origin, spec, settings, server.pid);
      const measurement: Measurement = {
        ...result,
        route,
        ratio: result.rps / base.rps,
        baselineRps: base.rps,
        warmup,
        permissionsAtStart,
      };
      measurements.push(measurement);
      log(
        `${tag}: ${route}: ${Math.round(result.rps)} req/s (baseline ${Math.round(base.rps)}), ` +
          `p50 ${result.p50.toFixed(2)} ms, p99 ${result.p99.toFixed(2)} ms, ${measurement.ratio?.toFixed(2)} × baseline; ` +
          `server CPU ${result.serverCpuUsPerRequest.toFixed(0)} µs/req (baseline ${base.serverCpuUsPerRequest.toFixed(0)}), ` +
          `server ${(100 * result.serverCpuShare).toFixed(0)}% busy, load generator ${(100 * result.generatorCpuShare).toFixed(0)}% ` +
          `(baseline: ${(100 * base.serverCpuShare).toFixed(0)}%, ${(100 * base.generatorCpuShare).toFixed(0)}%)` +
          (result.non2xx + result.errors > 0 ? `, ${result.non2xx} non-2xx, ${result.errors} errors` : ''),
      );
      return { warmup, result };
    };

    for (const [route, path] of Object.entries(lists)) {
      if (routes.has(route)) await run(route as keyof typeof lists, { method: 'GET', headers, path });
    }

    // The access routes with project keys: a model shared with the key's project, the keys and
    // models taken in turn (20 projects' keys, each kept in the server's cache after its first use).
    const pairs = dataset.projectKeys.flatMap((k) => k.models.map((model) => ({ key: k.secret, model })));
    if (routes.has('models get')) {
      for (const { key, model } of pairs.slice(0, 3)) {
        await expectOk(
          await fetch(`${server.origin}/v1/models/${model}`, { headers: { authorization: `Bearer ${key}` } }),
          'models get',
        );
      }
      let nextModel = 0;
      await run('models get', {
        method: 'GET',
        headers,
        next: () => {
          const pair = pairs[nextModel++ % pairs.length] as (typeof pairs)[number];
          return { path: `/v1/models/${pair.model}`, headers: { authorization: `Bearer ${pair.key}` } };
        },
      });
    }
    // Every model the wide project may use (1,000), against a baseline with a body of that size.
    if (routes.has('models list')) {
      const wideHeaders = { authorization: `Bearer ${dataset.wideKey}` };
      const body = await expectOk(await fetch(`${server.origin}/v1/models`, { headers: wideHeaders }), 'models list');
      const models = (JSON.parse(body) as { data: unknown[] }).data.length;
      if (models !== 1_000) throw new Error(`models list: the wide project may use ${models} models, not 1,000`);
      modelsListBytes = Buffer.byteLength(body);
      modelsBaseline = await startBaseline(modelsListBytes, join(scratch, `${tag}-models-baseline.log`));
      await run(
        'models list',
        { method: 'GET', headers: wideHeaders, path: '/v1/models' },
        { server: modelsBaseline, spec: { method: 'GET', headers: wideHeaders, path: '/v1/models' } },
      );
      await modelsBaseline.stop();
    }
    // One project's grants in the audit log: the same 20 events whatever the history around them.
    if (routes.has('audit page')) {
      const path = `/v1/organization/audit_logs?project_ids[]=${dataset.auditedProject}&event_types[]=checkpoint.permission.created&limit=20`;
      const body = JSON.parse(await expectOk(await fetch(`${server.origin}${path}`, { headers }), 'audit page')) as {
        data: unknown[];
      };
      if (body.data.length !== 20) throw new Error(`audit page: ${body.data.length} events, not 20`);
      await run('audit page', { method: 'GET', headers, path });
    }
    if (!routes.has('create') && !routes.has('delete')) {
      peakRssBytes = server.peakRssBytes();
      return blockResult();
    }

    // Create: one project per request, and a pair never granted before, until the 400,000 pairs
    // of the create targets run out (they do not at these rates; if they did, repeats would take
    // the idempotent path and the run is flagged by the counts below).
    const targets = dataset.createTargets;
    const grantPairs = targets.length * dataset.projects.length;
    let nextPair = 0;
    const grant = () => {
      const i = nextPair++ % grantPairs;
      const checkpoint = targets[i % targets.length];
      const project = dataset.projects[Math.floor(i / targets.length)];
      return {
        path: `/v1/fine_tuning/checkpoints/${checkpoint}/permissions`,
        body: JSON.stringify({ project_ids: [project] }),
      };
    };
    const jsonHeaders = { ...headers, 'content-type': 'application/json' };
    let createdRps = Number.NaN;
    if (routes.has('create')) {
      const first = grant();
      await expectOk(
        await fetch(`${server.origin}${first.path}`, { method: 'POST', headers: jsonHeaders, body: first.body }),
        'create',
      );
      permissions += 1;
      const created = await run('create', { method: 'POST', headers: jsonHeaders, next: grant });
      permissions += created.warmup.ok + created.result.ok;
      createdRps = created.result.rps;

      // The same writes, on the same store, by the same server writing no audit events: what
      // auditing costs a write (the audit issue's "≥ 0.9× of writes without it").
      peakRssBytes = Math.max(Number.isNaN(peakRssBytes) ? 0 : peakRssBytes, server.peakRssBytes());
      await server.stop();
      server = await startFtshare({
        ...serverOptions,
        logFile: join(scratch, `${tag}-no-audit.log`),
        withoutAudit: true,
      });
      try {
        const bare = await run('create (no audit)', { method: 'POST', headers: jsonHeaders, next: grant });
        permissions += bare.warmup.ok + bare.result.ok;
      } finally {
        await server.stop();
        server = await startFtshare(serverOptions);
      }
      if (nextPair > grantPairs) {
        log(`${tag}: create: WARNING: the ${grantPairs} new pairs ran out; later requests were repeats`);
      }
    }
    if (!routes.has('delete')) {
      peakRssBytes = server.peakRssBytes();
      return blockResult();
    }

    // Delete: a pool of existing permissions inserted through the store just now, sized from the
    // rates seen so far, removed one per request in shuffled order.
    const baselineRps = Math.max(...baselines.map((b) => b.rps), 10_000);
    const expected = Number.isNaN(createdRps) ? 1.3 * baselineRps : Math.min(1.3 * baselineRps, 4 * createdRps);
    deletePool = Math.ceil(expected * (settings.warmupSeconds + settings.durationSeconds)) + 1_000;
    log(`${tag}: inserting a delete pool of ${deletePool.toLocaleString('en-US')} permissions`);
    handle = await openBenchStore(database.url);
    let pool: Awaited<ReturnType<typeof seedDeletePool>>;
    try {
      pool = await seedDeletePool(handle, dataset, deletePool, size.label);
    } finally {
      await handle.close();
    }
    permissions += pool.length;
    let nextDelete = 0;
    const revoke = () => {
      const target = pool[nextDelete++];
      return target && { path: `/v1/fine_tuning/checkpoints/${target.checkpoint}/permissions/${target.id}` };
    };
    const firstDelete = revoke();
    if (!firstDelete) throw new Error('empty delete pool');
    await expectOk(await fetch(`${server.origin}${firstDelete.path}`, { method: 'DELETE', headers }), 'delete');
    permissions -= 1;
    const deleted = await run('delete', { method: 'DELETE', headers, next: revoke });
    permissions -= deleted.warmup.ok + deleted.result.ok;
    if (nextDelete > pool.length) log(`${tag}: delete: WARNING: the pool ran out; the run answered 404s at the end`);

    peakRssBytes = Math.max(Number.isNaN(peakRssBytes) ? 0 : peakRssBytes, server.peakRssBytes());
  } catch (error) {
    log(`${tag}: server log tail:\n${server.output()}`);
    throw error;
  } finally {
    await baseline?.stop();
    await modelsBaseline?.stop();
    await server.stop();
    await database.drop();
    databases.delete(database);
  }
  return blockResult();
}

/** Start-up time per store: spawn to the first 200 on /readyz (bench/startup.ts). */
async function runStartup(): Promise<StartupResult[]> {
  const results: StartupResult[] = [];
  const runs = Number(args['startup-runs']);
  for (const mode of Object.values(STARTUP_MODES)) {
    if (mode.store !== 'none' && !stores.includes(mode.store)) continue;
    let database: BenchDatabase | undefined;
    if (mode.store === 'sqlite') database = sqliteDatabase(`startup-${mode.name}`);
    else if (mode.store === 'postgres' && postgresUrl) database = await postgresDatabase(postgresUrl, 'startup');
    if (database) databases.add(database);
    try {
      const env: Record<string, string> = { FTSHARE_ADMIN_KEY: benchAdminKey() };
      if (database) env.FTSHARE_DB = database.url;
      results.push(await measureStartup(mode, env, runs, log));
    } finally {
      if (database) {
        await database.drop();
        databases.delete(database);
      }
    }
  }
  return results;
}

async function main(): Promise<void> {
  if (stores.includes('postgres')) {
    if (!postgresUrl) throw new Error('--stores postgres needs --postgres URL or DATABASE_URL');
    const problem = await postgresReachable(postgresUrl);
    if (problem) throw new Error(`PostgreSQL at ${postgresUrl} is not reachable: ${problem}`);
  }
  const startedAt = new Date().toISOString();
  log(
    `${mode} run: stores ${stores.join(', ')}; ${settings.connections} connections, ${settings.warmupSeconds} s warm-up + ` +
      `${settings.durationSeconds} s per route; server log level ${logLevel}`,
  );
  const startup = args['skip-startup'] ? [] : await runStartup();
  const blocks: Block[] = [];
  if (!args['startup-only']) {
    for (const store of stores) {
      for (const size of sizes) blocks.push(await runBlock(store, size));
    }
  }
  // In-process figures (no HTTP): the access decision at scale, and what auditing costs a write.
  const decision: DecisionResult[] = [];
  const auditWrites: AuditWritesResult[] = [];
  if (!args['skip-in-process'] && !args['startup-only']) {
    const decisionSize = args.quick
      ? { projects: 10_000, permissions: 100_000 }
      : { projects: 10_000, permissions: 1_000_000 };
    for (const store of stores) {
      log(
        `decision (${store}): ${decisionSize.permissions.toLocaleString('en-US')} permissions, ${decisionSize.projects.toLocaleString('en-US')} projects`,
      );
      decision.push(await measureDecision(store, postgresUrl, decisionSize, log));
      auditWrites.push(await measureAuditWrites(store, postgresUrl, args.quick ? 1 : 3, args.quick ? 3 : 5, log));
    }
  }
  // Export and import through the CLI, SQLite to SQLite: the rate an operator moving a store sees.
  const transfer: TransferResult[] = [];
  if (!args['skip-in-process'] && !args['startup-only'] && stores.includes('sqlite')) {
    transfer.push(await measureTransfer(args.quick ? 100_000 : 1_000_000, scratch, log));
  }
  const report: Report = {
    mode,
    startedAt,
    finishedAt: new Date().toISOString(),
    machine: machine(),
    settings: { ...settings, logLevel },
    startup,
    blocks,
    decision,
    auditWrites,
    transfer,
    ...evaluate(blocks, startup, decision, auditWrites, transfer),
  };
  process.stdout.write(`\n${renderText(report)}\n\n`);
  for (const path of writeReport(report)) log(`wrote ${path}`);
}

try {
  await main();
} catch (error) {
  log(`failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exitCode = 1;
} finally {
  await cleanUp();
}
