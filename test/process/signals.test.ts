import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { compiledServer, ROOT } from '../support/dist.ts';
import { newAdminKey } from '../support/remote.ts';

/**
 * `npm start`, as an operator runs it, and signals sent to npm's own pid (what a process manager
 * or a terminal's Ctrl-C reaches): the server stops accepting, finishes what is in flight, closes
 * the store and exits 0, npm with it; nothing is left running and the port is free.
 */

/** Every process descending from `pid`, from /proc (Linux). */
function descendants(pid: number): number[] {
  const parentOf = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // The command may contain spaces and parentheses: the fields after the last ')' are fixed.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parentOf.set(Number(entry), ppid);
    } catch {} // gone meanwhile
  }
  const found: number[] = [];
  let frontier = [pid];
  while (frontier.length > 0) {
    const next = [...parentOf].filter(([, parent]) => frontier.includes(parent)).map(([child]) => child);
    found.push(...next);
    frontier = next;
  }
  return found;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function portIsFree(port: number): Promise<boolean> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

type NpmStart = { npm: ChildProcess; port: number; output(): string; exited: Promise<unknown[]> };

/** `npm start` in the repository, on a SQLite file and a free port, once it listens. */
async function npmStart(db: string, adminKey: string): Promise<NpmStart> {
  compiledServer(); // fails with what to do when dist/ is missing or older than src/
  const npm = spawn('npm', ['start'], {
    cwd: ROOT,
    env: {
      ...process.env,
      FTSHARE_DB: db,
      FTSHARE_ADMIN_KEY: adminKey,
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = once(npm, 'exit');
  let output = '';
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`npm start did not listen in 30 s:\n${output}`)), 30_000);
    const collect = (chunk: Buffer) => {
      output += chunk;
      const match = /listening on http:\/\/127\.0\.0\.1:(\d+)\/v1/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    };
    npm.stdout?.on('data', collect);
    npm.stderr?.on('data', collect);
    npm.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`npm start exited (${code}) before listening:\n${output}`));
    });
  });
  return { npm, port, output: () => output, exited };
}

/**
 * A POST the server has received and handed to the app, its body held back: with
 * `Expect: 100-continue` the server answers `100 Continue` once the request is dispatched, so
 * `accepted` resolving means it is in flight. `finish` sends the body and resolves with the reply.
 */
function heldRequest(port: number, key: string, path: string, body: unknown) {
  const payload = JSON.stringify(body);
  const request = http.request({
    host: '127.0.0.1',
    port,
    path,
    method: 'POST',
    agent: false,
    headers: {
      authorization: `Bearer ${key}`,
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(payload),
      expect: '100-continue',
    },
  });
  const answered = new Promise<{ status: number; body: string }>((resolve, reject) => {
    request.on('error', reject);
    request.on('response', (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk) => {
        text += chunk;
      });
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text }));
    });
  });
  const accepted = once(request, 'continue');
  request.flushHeaders();
  return {
    accepted,
    finish: () => {
      request.end(payload);
      return answered;
    },
  };
}

/** `promise`, or a failure naming `what` after `timeoutMs`: a broken shutdown fails the test, never hangs it. */
async function within<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('npm start and signals to npm’s pid', { skip: process.platform !== 'linux' && 'reads /proc' }, () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ftshare-signals-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    test(`${signal} to npm stops the server: exit 0, no process left, port free`, async () => {
      const started = await npmStart(join(dir, `${signal}.db`), newAdminKey());
      const { npm, port } = started;
      const tree = descendants(npm.pid ?? -1);
      assert.ok(tree.length > 0, 'npm started the server');
      try {
        npm.kill(signal);
        const [code, killedBy] = await within(started.exited, 20_000, `npm to exit on ${signal}:\n${started.output()}`);
        assert.equal(killedBy, null, started.output());
        assert.equal(code, 0, started.output());
        await until(() => tree.every((pid) => !alive(pid)), 'every process under npm to end');
        assert.ok(await portIsFree(port), `port ${port} is free`);
        assert.match(started.output(), /"msg":"stopped"/);
      } finally {
        for (const pid of [...tree, npm.pid ?? -1]) if (alive(pid)) process.kill(pid, 'SIGKILL');
      }
    });
  }

  test('a request in flight when npm gets SIGTERM completes with 200, then everything exits', async () => {
    const adminKey = newAdminKey();
    const started = await npmStart(join(dir, 'in-flight.db'), adminKey);
    const { npm, port } = started;
    const tree = descendants(npm.pid ?? -1);
    try {
      const held = heldRequest(port, adminKey, '/v1/organization/projects', { name: 'in flight' });
      await within(held.accepted, 10_000, 'the request to be in flight');
      npm.kill('SIGTERM');
      await until(() => started.output().includes('draining in-flight requests'), 'the drain to begin');
      const reply = await within(held.finish(), 10_000, 'the in-flight reply');
      assert.equal(reply.status, 200, reply.body);
      assert.equal(JSON.parse(reply.body).name, 'in flight');
      const [code] = await within(started.exited, 20_000, 'npm to exit');
      assert.equal(code, 0, started.output());
      await until(() => tree.every((pid) => !alive(pid)), 'every process under npm to end');
      assert.ok(await portIsFree(port));
    } finally {
      for (const pid of [...tree, npm.pid ?? -1]) if (alive(pid)) process.kill(pid, 'SIGKILL');
    }
  });
});
