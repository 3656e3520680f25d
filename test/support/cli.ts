import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { newAdminKey } from './remote.ts';
import { type RunningServer, startServer } from './server.ts';

/**
 * Runs the `ftshare` CLI as a child process, the way an operator's shell does: `node --import tsx
 * src/main.ts …`, stdout and stderr pipes (never a terminal), and an environment without the
 * caller's FTSHARE_* or colour variables unless a test sets them.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export type CliResult = { code: number | null; stdout: string; stderr: string };

const cleanEnv = () => {
  const env = { ...process.env };
  for (const name of ['FTSHARE_BASE_URL', 'FTSHARE_ADMIN_KEY', 'NO_COLOR', 'FORCE_COLOR', 'FTSHARE_DB'])
    delete env[name];
  return env;
};

export function runCli(args: readonly string[], options: { env?: Record<string, string>; stdin?: string } = {}) {
  return new Promise<CliResult>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], {
      cwd: ROOT,
      env: { ...cleanEnv(), ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.stdin.end(options.stdin ?? '');
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Whether `script` (util-linux) can give a child a pseudo-terminal here. */
export const hasScript = () => spawnSync('script', ['--version'], { stdio: 'ignore' }).status === 0;

const shellQuote = (arg: string) => `'${arg.replaceAll("'", `'\\''`)}'`;

/**
 * Runs the CLI on a pseudo-terminal (through `script`): what a person at a terminal sees, escapes
 * included. Without `CI` in its environment: Node's `hasColors()` reads a set `CI` as a CI log
 * (two colours), and this is a person's terminal even when the suite runs in CI.
 */
export function runCliOnTty(args: readonly string[], env: Record<string, string> = {}) {
  const command = [process.execPath, '--import', 'tsx', 'src/main.ts', ...args].map(shellQuote).join(' ');
  const { CI: _ci, ...terminalEnv } = cleanEnv();
  return new Promise<CliResult>((resolve, reject) => {
    const child = spawn('script', ['-qec', command, '/dev/null'], {
      cwd: ROOT,
      env: { ...terminalEnv, TERM: 'xterm-256color', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr: '' }));
  });
}

export type CliServer = {
  server: RunningServer;
  adminKey: string;
  /** The CLI against this server, with its admin key. */
  cli(args: readonly string[], env?: Record<string, string>, stdin?: string): Promise<CliResult>;
  /** Same, and fails the test unless it exits 0; the parsed `--json` output. */
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON shapes
  json(args: readonly string[]): Promise<any>;
  stop(): Promise<void>;
};

/** A server on a fresh SQLite file in a temp directory, and the CLI pointed at it. */
export async function startCliServer(options: { args?: string[] } = {}): Promise<CliServer> {
  const dir = await mkdtemp(join(tmpdir(), 'ftshare-cli-'));
  const adminKey = newAdminKey();
  const server = await startServer({
    db: join(dir, 'ftshare.db'),
    adminKey,
    ...(options.args ? { args: options.args } : {}),
  });
  const env = { FTSHARE_BASE_URL: server.baseURL, FTSHARE_ADMIN_KEY: adminKey };
  const cli = (args: readonly string[], extra: Record<string, string> = {}, stdin?: string) =>
    runCli(args, { env: { ...env, ...extra }, ...(stdin === undefined ? {} : { stdin }) });
  return {
    server,
    adminKey,
    cli,
    async json(args) {
      const result = await cli([...args, '--json']);
      if (result.code !== 0) throw new Error(`ftshare ${args.join(' ')} exited ${result.code}:\n${result.stderr}`);
      return JSON.parse(result.stdout);
    },
    async stop() {
      const code = await server.stop();
      await rm(dir, { recursive: true, force: true });
      if (code !== 0) throw new Error(`server exited with ${code}:\n${server.output()}`);
    },
  };
}

/** A loopback port nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const address = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** Any ANSI escape sequence. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: looking for escape codes is the point.
export const ESCAPE = /\u001b\[/;
