import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import OpenAI from 'openai';
import type { SeedDocumentWire } from '../../src/http/schemas-state.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** `ftshare emulate` as a real process, as `npm run emulator` runs it (test/emulator). */
export type RunningEmulator = {
  /** e.g. http://127.0.0.1:40123/v1 */
  baseURL: string;
  /** e.g. http://127.0.0.1:40123 — where OpenAPI mock servers, and so generated SDK tests, put the API. */
  root: string;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  /** SIGTERM and wait for exit. */
  stop(): Promise<number | null>;
  /** The official SDK against `root`, with the placeholder keys of the SDK's generated tests. */
  client(): OpenAI;
  /** `POST /__ftshare/reset`. */
  reset(): Promise<void>;
  /** `GET /__ftshare/state`. */
  state(): Promise<SeedDocumentWire>;
};

/**
 * Starts `ftshare emulate` (the TypeScript sources, through tsx) on a free loopback port and waits
 * until it listens: in memory unless `db` names a store, from the seed file `seed` if given.
 */
export async function startEmulator(options: { db?: string; seed?: string } = {}): Promise<RunningEmulator> {
  const args = ['--import', 'tsx', 'src/main.ts', 'emulate', '--host', '127.0.0.1', '--port', '0'];
  args.push('--log-level', 'warn', '--db', options.db ?? ':memory:');
  if (options.seed !== undefined) args.push('--seed', options.seed);
  const env = { ...process.env, FTSHARE_SEED: undefined }; // only the seed given here
  const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const exited = once(child, 'exit');
  const baseURL = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`emulator did not start in 30 s:\n${output}`));
    }, 30_000);
    // "listening on" is looked for on both streams, wherever the process writes its status lines.
    const read = (chunk: Buffer) => {
      output += chunk;
      const match = /listening on (http:\/\/\S+\/v1)/.exec(output);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout?.on('data', read);
    child.stderr?.on('data', read);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`emulator exited with ${code} before listening:\n${output}`));
    });
  });
  const root = baseURL.replace(/\/v1$/, '');
  return {
    baseURL,
    root,
    output: () => output,
    async stop() {
      if (child.exitCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const [code] = await exited;
      return code as number | null;
    },
    client: () => new OpenAI({ apiKey: 'My API Key', adminAPIKey: 'My Admin API Key', baseURL: root, maxRetries: 0 }),
    async reset() {
      const response = await fetch(`${root}/__ftshare/reset`, { method: 'POST' });
      if (response.status !== 200) throw new Error(`reset answered ${response.status}: ${await response.text()}`);
    },
    async state() {
      const response = await fetch(`${root}/__ftshare/state`);
      if (response.status !== 200) throw new Error(`state answered ${response.status}: ${await response.text()}`);
      return (await response.json()) as SeedDocumentWire;
    },
  };
}
