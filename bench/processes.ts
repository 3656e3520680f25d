import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, fstatSync, mkdirSync, openSync, readFileSync, readSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** A child the bench started: where it listens, its memory, and how to end it. */
/** The last 16 KiB of a log file: the listening line while it is short, the latest errors later. */
function tail(path: string): string {
  try {
    const fd = openSync(path, 'r');
    try {
      const buffer = Buffer.alloc(16 * 1024);
      const position = Math.max(0, fstatSync(fd).size - buffer.length);
      const size = readSync(fd, buffer, 0, buffer.length, position);
      return buffer.subarray(0, size).toString('utf8');
    } finally {
      closeSync(fd);
    }
  } catch {
    return '';
  }
}

export type Child = {
  /** e.g. http://127.0.0.1:40123 (no /v1) */
  origin: string;
  pid: number;
  /** The process's peak resident set so far (VmHWM, which the kernel keeps), in bytes. */
  peakRssBytes(): number;
  output(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
  stop(graceMs?: number): Promise<void>;
};

/** Every child still running, so an error or Ctrl-C anywhere still ends them all. */
const running = new Set<ChildProcess>();

export function killAllChildren(): void {
  for (const child of running) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  running.clear();
}

/**
 * Starts `node <args>` with stdout and stderr going to `logFile` (as a service's would go to a
 * file: the bench reading a pipe would spend the load generator's CPU on the access log), and
 * waits for its `listening on http://HOST:PORT/v1` line (the real server prints it; so does the
 * baseline).
 */
async function start(args: string[], env: Record<string, string>, label: string, logFile: string): Promise<Child> {
  mkdirSync(dirname(logFile), { recursive: true });
  const fd = openSync(logFile, 'w');
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  running.add(child);
  const exited = once(child, 'exit');
  const output = () => tail(logFile);

  const origin = await new Promise<string>((resolve, reject) => {
    const deadline = Date.now() + 60_000;
    const poll = setInterval(() => {
      const match = /listening on (http:\/\/[^/\s]+)\/v1/.exec(output());
      if (match?.[1]) {
        clearInterval(poll);
        resolve(match[1]);
      } else if (child.exitCode !== null || child.signalCode !== null) {
        clearInterval(poll);
        reject(new Error(`${label} exited (${child.exitCode ?? child.signalCode}) before listening:\n${output()}`));
      } else if (Date.now() > deadline) {
        clearInterval(poll);
        child.kill('SIGKILL');
        reject(new Error(`${label} did not start in 60 s:\n${output()}`));
      }
    }, 50);
  });

  const pid = child.pid ?? -1;
  return {
    origin,
    pid,
    peakRssBytes() {
      try {
        const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
        return match?.[1] ? Number(match[1]) * 1024 : Number.NaN;
      } catch {
        return Number.NaN;
      }
    },
    output,
    async stop(graceMs = 10_000) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const force = setTimeout(() => child.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(force);
      }
      running.delete(child);
    },
  };
}

export type ServerOptions = {
  db: string;
  adminKey: string;
  logLevel: string;
  /** Where its stdout and stderr go. */
  logFile: string;
  /** Directory for a V8 CPU profile of the server, written when it stops. */
  cpuProfileDir?: string;
  /** The same server writing no audit events (bench/server-without-audit.ts), to measure their cost. */
  withoutAudit?: boolean;
};

/** The real server as `npm start` runs it: the compiled dist/main.js (`npm run bench` builds it first), on loopback. */
export function startFtshare(options: ServerOptions): Promise<Child> {
  const profile = options.cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`] : [];
  const entry = options.withoutAudit ? ['--import', 'tsx', 'bench/server-without-audit.ts'] : ['dist/main.js', 'serve'];
  return start(
    [...profile, ...entry, '--host', '127.0.0.1', '--port', '0', '--log-level', options.logLevel],
    { FTSHARE_DB: options.db, FTSHARE_ADMIN_KEY: options.adminKey },
    'ftshare server',
    options.logFile,
  );
}

/** The baseline: the same framework answering `bodyBytes` of static JSON (see baseline-server.ts). */
export function startBaseline(bodyBytes: number, logFile: string, cpuProfileDir?: string): Promise<Child> {
  const profile = cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfileDir}`] : [];
  return start(
    [...profile, '--import', 'tsx', 'bench/baseline-server.ts'],
    { BASELINE_BODY_BYTES: String(bodyBytes) },
    'baseline server',
    logFile,
  );
}
