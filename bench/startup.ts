import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { processCpuSeconds } from './load.ts';
import { ROOT } from './processes.ts';

/**
 * Start-up time: from spawning the server process to the first 200 on its /readyz, as a load
 * balancer or an orchestrator sees it. The server is the compiled one (`npm run build`), as
 * `npm start` runs it, on a store that is already migrated (a restart, the common case); the
 * first, migrating start is timed too but is not part of the median.
 */

export type StartupMode = {
  name: string;
  /** `ftshare` arguments before the common ones (--host, --port, --log-level). */
  command: string[];
  /** The store the bench creates for it (FTSHARE_DB), or none: the mode brings its own. */
  store: 'sqlite' | 'postgres' | 'none';
  targetMs: number;
};

/** The modes measured, in order: the server on each store, and the emulator (in memory). */
export const STARTUP_MODES: Record<string, StartupMode> = {
  sqlite: { name: 'sqlite', command: ['serve'], store: 'sqlite', targetMs: 500 },
  postgres: { name: 'postgres', command: ['serve'], store: 'postgres', targetMs: 1_000 },
  emulator: { name: 'emulator', command: ['emulate'], store: 'none', targetMs: 300 },
};

export type StartupResult = {
  mode: string;
  /** Each measured start, in ms, in the order run. */
  runsMs: number[];
  medianMs: number;
  /**
   * The server's CPU time (all threads, user + system) from spawn to that first 200, median of the
   * runs, in ms (10 ms resolution; Linux only). Unlike the wall time, it hardly depends on what
   * else the machine is running.
   */
  medianCpuMs: number;
  /** The first start (on a store: an empty one, so migrations and the default organization included). */
  firstStartMs: number;
  targetMs: number;
};

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** One start: spawn, poll /readyz every 5 ms until a 200, then SIGTERM and wait for the exit. */
async function timeOneStart(mode: StartupMode, env: Record<string, string>): Promise<{ ms: number; cpuMs: number }> {
  const port = await freePort();
  const args = [join(ROOT, 'dist', 'main.js'), ...mode.command, '--host', '127.0.0.1', '--port', String(port)];
  const started = performance.now();
  const child = spawn(process.execPath, [...args, '--log-level', 'warn'], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  const exited = once(child, 'exit');
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${mode.name} server exited (${child.exitCode}):\n${stderr}`);
      if (performance.now() - started > 30_000) throw new Error(`${mode.name} server not ready in 30 s:\n${stderr}`);
      try {
        const response = await fetch(`http://127.0.0.1:${port}/readyz`);
        await response.arrayBuffer();
        if (response.status === 200) {
          return { ms: performance.now() - started, cpuMs: processCpuSeconds(child.pid) * 1000 };
        }
      } catch {} // not listening yet
      await sleep(5);
    }
  } finally {
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
  }
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] ?? Number.NaN) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
};

/**
 * `runs` timed starts of `mode` with `env` (its store and admin key), after one first start
 * that is timed apart: on a store, that one migrates it.
 */
export async function measureStartup(
  mode: StartupMode,
  env: Record<string, string>,
  runs: number,
  log: (line: string) => void,
): Promise<StartupResult> {
  const firstStartMs = (await timeOneStart(mode, env)).ms;
  const starts: { ms: number; cpuMs: number }[] = [];
  for (let i = 0; i < runs; i++) starts.push(await timeOneStart(mode, env));
  const runsMs = starts.map((start) => start.ms);
  const result = {
    mode: mode.name,
    runsMs,
    medianMs: median(runsMs),
    medianCpuMs: median(starts.map((start) => start.cpuMs)),
    firstStartMs,
    targetMs: mode.targetMs,
  };
  log(
    `startup ${mode.name}: median ${result.medianMs.toFixed(0)} ms of ${runsMs.map((ms) => ms.toFixed(0)).join(', ')} ` +
      `(server CPU ${result.medianCpuMs.toFixed(0)} ms; first start, migrating: ${firstStartMs.toFixed(0)} ms; ` +
      `target ≤ ${mode.targetMs} ms)`,
  );
  return result;
}
