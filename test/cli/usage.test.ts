import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import pkg from '../../package.json' with { type: 'json' };
import { closedPort, ESCAPE, runCli } from '../support/cli.ts';
import { newAdminKey } from '../support/remote.ts';
import { startServer } from '../support/server.ts';

/**
 * The command line itself: help, version, usage errors (exit 2, with a suggestion or the accepted
 * values), no server to reach (exit 3), and `org create`, the one command that works on the store.
 */

describe('ftshare usage', () => {
  test('--version prints the package version; help lists the commands, exit codes and env vars', async () => {
    const version = await runCli(['--version']);
    assert.deepEqual([version.code, version.stdout], [0, `${pkg.version}\n`]);

    const help = await runCli(['help']);
    assert.equal(help.code, 0, help.stderr);
    for (const command of [
      'serve',
      'projects',
      'admin-keys',
      'grant',
      'revoke',
      'models',
      'check',
      'audit',
      'import',
    ]) {
      assert.match(help.stdout, new RegExp(`^  ${command}\\b`, 'm'));
    }
    assert.match(help.stdout, /FTSHARE_BASE_URL/);
    assert.match(help.stdout, /Exit codes: 0 ok/);
    assert.doesNotMatch(help.stdout, ESCAPE);
  });

  test('a mistyped command is exit 2, named, with the nearest command suggested', async () => {
    const top = await runCli(['projets', 'list']);
    assert.equal(top.code, 2);
    assert.equal(top.stdout, '');
    assert.match(top.stderr, /^error: unknown command 'projets'\n\(Did you mean projects\?\)/);

    const sub = await runCli(['checkpoints', 'lst']);
    assert.equal(sub.code, 2);
    assert.match(sub.stderr, /unknown command 'lst'\n\(Did you mean list\?\)/);
  });

  test('a bad flag value is exit 2 and lists the accepted values, from a flag or the environment', async () => {
    const flag = await runCli(['serve', '--log-level', 'loud']);
    assert.equal(flag.code, 2);
    assert.match(
      flag.stderr,
      /argument 'loud' is invalid\. Allowed choices are fatal, error, warn, info, debug, trace, silent\./,
    );
    const env = await runCli(['serve'], { env: { LOG_LEVEL: 'loud' } });
    assert.equal(env.code, 2);
    assert.match(env.stderr, /'loud' from env 'LOG_LEVEL' is invalid\. Allowed choices are fatal, error/);

    const port = await runCli(['serve', '--port', 'eighty']);
    assert.equal(port.code, 2);
    assert.match(port.stderr, /invalid configuration:\n {2}--port \/ PORT: /);

    const format = await runCli(['audit', '--format', 'xml']);
    assert.equal(format.code, 2);
    assert.match(format.stderr, /Allowed choices are table, json, csv, jsonl\./);
    const limit = await runCli(['audit', '--limit', '0']);
    assert.equal(limit.code, 2);
    assert.match(limit.stderr, /--limit.*expected a whole number/);
  });

  test('`ftshare` with no arguments serves, as it always has', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      env: {
        ...process.env,
        HOST: '127.0.0.1',
        PORT: '0',
        FTSHARE_DB: ':memory:',
        FTSHARE_ADMIN_KEY: newAdminKey(),
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = once(child, 'exit');
    let output = '';
    const listening = new Promise<void>((resolve, reject) => {
      const check = (chunk: Buffer) => {
        output += chunk;
        if (/listening on http:\/\/127\.0\.0\.1:\d+\/v1/.test(output)) resolve();
      };
      child.stdout.on('data', check);
      child.stderr.on('data', check);
      child.once('exit', (code) => reject(new Error(`exited ${code} before listening:\n${output}`)));
    });
    try {
      await listening;
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
  });

  test('no admin key, or a base URL that is not one: exit 2 before any request', async () => {
    const noKey = await runCli(['projects', 'list']);
    assert.equal(noKey.code, 2);
    assert.equal(
      noKey.stderr,
      'ftshare: no admin key: set FTSHARE_ADMIN_KEY or pass --admin-key (an sk-admin-... key)\n',
    );
    const badUrl = await runCli(['projects', 'list', '--base-url', 'localhost:8080', '--admin-key', 'sk-admin-x']);
    assert.equal(badUrl.code, 2);
    assert.match(badUrl.stderr, /--base-url \/ FTSHARE_BASE_URL: `localhost:8080` must be an http/);
  });

  test('no server to reach: exit 3, naming the URL and why', async () => {
    const url = `http://127.0.0.1:${await closedPort()}/v1`;
    const result = await runCli(['checkpoints', 'list'], {
      env: { FTSHARE_BASE_URL: url, FTSHARE_ADMIN_KEY: 'sk-admin-x' },
    });
    assert.equal(result.code, 3);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, new RegExp(`^ftshare: cannot reach the server at ${url}: .*ECONNREFUSED`));
    // The SDK's routes fail alike.
    const sdk = await runCli(['projects', 'list', '--base-url', url, '--admin-key', 'sk-admin-x']);
    assert.equal(sdk.code, 3);
    assert.match(sdk.stderr, /cannot reach the server at .*ECONNREFUSED/);
  });

  test('org create works on the store directly and prints a working admin key once', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ftshare-org-'));
    try {
      const db = join(dir, 'ftshare.db');
      const created = await runCli(['org', 'create', '--name', 'Acme', '--db', db]);
      assert.equal(created.code, 0, created.stderr);
      const match = /^organization: (\S+)\nadmin key \(shown once\): (sk-admin-\S+)\n$/.exec(created.stdout);
      assert.ok(match, created.stdout);
      const server = await startServer({ db });
      try {
        const env = { FTSHARE_BASE_URL: server.baseURL, FTSHARE_ADMIN_KEY: match[2] ?? '' };
        const project = await runCli(['projects', 'create', 'First', '--json'], { env });
        assert.equal(project.code, 0, project.stderr);
        assert.equal(JSON.parse(project.stdout).name, 'First');
      } finally {
        await server.stop();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
