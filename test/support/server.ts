import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { compiledServer, ROOT } from './dist.ts';

export type RunningServer = {
  /** e.g. http://127.0.0.1:40123/v1 */
  baseURL: string;
  child: ChildProcess;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  /** SIGTERM and wait for exit. */
  stop(): Promise<number | null>;
  /** SIGKILL and wait for exit: no chance to flush anything. */
  kill(): Promise<void>;
};

/**
 * Starts `ftshare serve` — the compiled server, run by plain Node as `npm start` runs it — as a
 * child process on a free loopback port, and waits until it listens.
 */
export async function startServer(options: {
  db: string;
  adminKey?: string;
  env?: Record<string, string>;
  args?: string[];
  /** How long to wait for "listening" (default 30 s); more when many servers start at once. */
  startTimeoutMs?: number;
}): Promise<RunningServer> {
  const args = [compiledServer(), 'serve', '--host', '127.0.0.1', '--port', '0', '--log-level', 'warn'];
  // FTSHARE_TEST_SERVER_NODE: the Node that runs the server when a suite itself runs on another
  // one (test/compat/node22.test.ts runs the SDK suite on Node 22 against the server on this Node,
  // whose native better-sqlite3 build is for this Node's ABI).
  const node = process.env.FTSHARE_TEST_SERVER_NODE ?? process.execPath;
  const child = spawn(node, [...args, ...(options.args ?? [])], {
    cwd: ROOT,
    env: {
      ...process.env,
      FTSHARE_DB: options.db,
      ...(options.adminKey ? { FTSHARE_ADMIN_KEY: options.adminKey } : {}),
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    output += chunk;
  });
  const exited = once(child, 'exit');

  const baseURL = await new Promise<string>((resolve, reject) => {
    const startTimeoutMs = options.startTimeoutMs ?? 30_000;
    const timer = setTimeout(() => {
      child.kill('SIGKILL'); // the caller gets no handle to stop it with
      reject(new Error(`server did not start in ${startTimeoutMs / 1000} s:\n${output}`));
    }, startTimeoutMs);
    const check = () => {
      const match = /listening on (http:\/\/\S+\/v1)/.exec(output);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    // The human-readable status lines, "listening on" among them, are on stderr; logs on stdout.
    child.stdout?.on('data', check);
    child.stderr?.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before listening:\n${output}`));
    });
  });

  return {
    baseURL,
    child,
    output: () => output,
    async stop() {
      if (child.exitCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const [code] = await exited;
      return code as number | null;
    },
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGKILL');
      await exited;
    },
  };
}
