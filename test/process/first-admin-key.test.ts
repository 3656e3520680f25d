import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { adminKeyDestination } from '../../src/first-admin-key.ts';
import { jsonClient } from '../support/remote.ts';
import { startServer } from '../support/server.ts';

/**
 * CONTRACT §2's first-start admin key, and §7's "logs never hold a key": the key minted when the
 * store has none is shown on a terminal (stderr) or written to a 0600 file, never logged. The
 * test harness has no terminal, so the process tests see the file; the terminal case is the
 * decision function's.
 */

const KEY = /sk-admin-[0-9A-Za-z_-]{20,}/;

describe('where the first admin key goes (the decision)', () => {
  const base = { adminKeyFile: undefined, cwd: '/srv/ftshare' };

  test('stderr is a terminal: shown there', () => {
    assert.deepEqual(adminKeyDestination({ ...base, db: './data/ftshare.db', stderrIsTTY: true }), {
      kind: 'terminal',
    });
    assert.deepEqual(adminKeyDestination({ ...base, db: 'postgres://u@h/db', stderrIsTTY: true }), {
      kind: 'terminal',
    });
  });

  test('no terminal: a file beside a SQLite database, named after it', () => {
    assert.deepEqual(adminKeyDestination({ ...base, db: './data/ftshare.db', stderrIsTTY: false }), {
      kind: 'file',
      path: '/srv/ftshare/data/ftshare.db.admin-key',
    });
    assert.deepEqual(adminKeyDestination({ ...base, db: '/var/lib/ftshare/a.db', stderrIsTTY: false }), {
      kind: 'file',
      path: '/var/lib/ftshare/a.db.admin-key',
    });
  });

  test('no terminal, no database directory (:memory:, PostgreSQL): the working directory', () => {
    for (const db of [':memory:', 'postgres://u@h:5432/db', 'postgresql://u@h/db']) {
      assert.deepEqual(adminKeyDestination({ ...base, db, stderrIsTTY: false }), {
        kind: 'file',
        path: '/srv/ftshare/ftshare-admin-key',
      });
    }
  });

  test('--admin-key-file wins, even on a terminal, relative to the working directory', () => {
    for (const stderrIsTTY of [true, false]) {
      assert.deepEqual(
        adminKeyDestination({ db: ':memory:', adminKeyFile: 'secrets/key', cwd: '/srv/ftshare', stderrIsTTY }),
        { kind: 'file', path: '/srv/ftshare/secrets/key' },
      );
    }
  });
});

describe('first start with no terminal (the server process)', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ftshare-first-key-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** Starts on an empty store with no FTSHARE_ADMIN_KEY; returns the key file's key and the output. */
  async function firstStart(db: string, args: string[] = []) {
    const server = await startServer({ db, args, env: { FTSHARE_ADMIN_KEY: '' } });
    return server;
  }

  test('the key is written once to <db>.admin-key, mode 0600, works, and is in no output', async () => {
    const db = join(dir, 'sqlite', 'ftshare.db');
    const server = await firstStart(db);
    const file = `${db}.admin-key`;
    try {
      const key = (await readFile(file, 'utf8')).trim();
      assert.match(key, KEY);
      assert.equal((await stat(file)).mode & 0o777, 0o600);

      const api = jsonClient(server.baseURL, key);
      assert.equal((await api('GET', '/organization/projects')).status, 200, 'the written key is an admin key');

      const output = server.output();
      assert.doesNotMatch(output, KEY, 'no key in stdout or stderr');
      assert.ok(output.includes(file), 'the file is named');
      const stdout = output.split('\n').filter((line) => line.startsWith('{'));
      const notice = stdout.map((line) => JSON.parse(line)).find((entry) => entry.file === file);
      assert.ok(notice, `a log line names the file:\n${output}`);
      assert.equal(await server.stop(), 0);

      // A second start finds an admin key in the store: nothing is minted, the file is untouched.
      const again = await firstStart(db);
      assert.equal((await readFile(file, 'utf8')).trim(), key);
      assert.doesNotMatch(again.output(), /no admin key existed/);
      assert.equal(await again.stop(), 0);
    } finally {
      await server.kill();
    }
  });

  test('--admin-key-file: the file there is replaced by a new 0600 one', async () => {
    const file = join(dir, 'chosen-key');
    await writeFile(file, 'an older key\n', { mode: 0o644 });
    const server = await firstStart(':memory:', ['--admin-key-file', file]);
    try {
      const key = (await readFile(file, 'utf8')).trim();
      assert.match(key, KEY);
      assert.equal((await stat(file)).mode & 0o777, 0o600);
      assert.equal((await jsonClient(server.baseURL, key)('GET', '/organization/projects')).status, 200);
      assert.doesNotMatch(server.output(), KEY);
      assert.equal(await server.stop(), 0);
    } finally {
      await server.kill();
    }
  });

  test('a key file that cannot be written stops the start with a reason, still without the key', async () => {
    const server = startServer({
      db: ':memory:',
      args: ['--admin-key-file', join(dir, 'no-such-directory', 'key')],
      env: { FTSHARE_ADMIN_KEY: '' },
    });
    await assert.rejects(server, (error: Error) => {
      assert.match(error.message, /exited with 1 before listening/);
      assert.match(error.message, /could not be written to .*no-such-directory/);
      assert.match(error.message, /FTSHARE_ADMIN_KEY/);
      assert.doesNotMatch(error.message, KEY);
      return true;
    });
  });
});
