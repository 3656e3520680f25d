import OpenAI from 'openai';
import type { SeedDocumentWire } from '../../src/http/schemas-state.ts';
import { type RunningServer, startServer } from './server.ts';

/** `ftshare emulate` as a real process, as `npm run emulator` runs it (test/emulator). */
export type RunningEmulator = RunningServer & {
  /** e.g. http://127.0.0.1:40123 — where OpenAPI mock servers, and so generated SDK tests, put the API. */
  root: string;
  /** The official SDK against `root`, with the placeholder keys of the SDK's generated tests. */
  client(): OpenAI;
  /** `POST /__ftshare/reset`. */
  reset(): Promise<void>;
  /** `GET /__ftshare/state`. */
  state(): Promise<SeedDocumentWire>;
};

/** Starts `ftshare emulate` on a free port: in memory unless `db` names a file; `seed` a seed file. */
export async function startEmulator(options: { db?: string; seed?: string } = {}): Promise<RunningEmulator> {
  const server = await startServer({
    command: 'emulate',
    db: options.db ?? ':memory:',
    args: options.seed === undefined ? [] : ['--seed', options.seed],
  });
  const root = server.baseURL.replace(/\/v1$/, '');
  return {
    ...server,
    root,
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
