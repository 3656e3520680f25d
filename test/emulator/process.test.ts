import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type OpenAI from 'openai';
import { buildApp } from '../../src/app.ts';
import { readSeedFile } from '../../src/emulator/world.ts';
import { backends, openTestStore } from '../support/backends.ts';
import { type RunningEmulator, startEmulator } from '../support/emulator.ts';
import { startServer } from '../support/server.ts';
import { bearer, call, testApp } from '../support/world.ts';

/**
 * `ftshare emulate` as a process: its state survives a restart on a `--db` store, a state dump
 * loaded as a seed gives the same state again, a bad seed stops it at start; and `ftshare serve`
 * has none of the emulator's routes.
 */

const BACKENDS = await backends();
const CHECKPOINT = 'ft:gpt-4o-mini-2024-07-18:acme:weather:B7R9VjQd';
const T0 = 1_700_000_000;

const SEED_YAML = `
organizations:
  - organization: { id: org-default, name: Acme, created_at: ${T0} }
    projects:
      - { id: proj_owner, name: Owner, created_at: ${T0} }
      - { id: proj_reader, name: Reader, created_at: ${T0 + 1} }
    checkpoints:
      - { name: "${CHECKPOINT}", project_id: proj_owner, created_at: ${T0 + 2} }
    permissions:
      - { id: cp_seeded00000000000000001, checkpoint: "${CHECKPOINT}", project_id: proj_reader, created_at: ${T0 + 3} }
`;

/** Some of everything, through the SDK with the placeholder bearers (which touch no key's last use). */
async function busyDay(client: OpenAI): Promise<void> {
  const admin = client.admin.organization;
  const project = await admin.projects.create({ name: 'Busy', external_key_id: 'ek_1' });
  const granted = await client.fineTuning.checkpoints.permissions.create(CHECKPOINT, {
    project_ids: [project.id, 'project_id'],
  });
  await client.fineTuning.checkpoints.permissions.delete(granted.data[1]?.id ?? '', {
    fine_tuned_model_checkpoint: CHECKPOINT,
  });
  await client.fineTuning.checkpoints.permissions.delete('cp_seeded00000000000000001', {
    fine_tuned_model_checkpoint: CHECKPOINT,
  });
  const account = await admin.projects.serviceAccounts.create(project.id, { name: 'ci' });
  await admin.projects.serviceAccounts.apiKeys.create(account.id, { project_id: project.id, name: 'second' });
  const gone = await admin.projects.serviceAccounts.create(project.id, { name: 'gone' });
  await admin.projects.serviceAccounts.delete(gone.id, { project_id: project.id });
  await admin.projects.modelPermissions.update(project.id, { mode: 'allow_list', model_ids: [CHECKPOINT] });
  const key = await admin.adminAPIKeys.create({ name: 'rotated', expires_in_seconds: 600 });
  await admin.adminAPIKeys.delete(key.id);
  await admin.projects.archive('proj_archived');
  await client.models.retrieve('gpt-4o-mini');
}

describe('ftshare emulate, as a process', () => {
  let dir: string;
  let seed: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ftshare-emulate-'));
    seed = join(dir, 'seed.yaml');
    await writeFile(seed, SEED_YAML);
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  /** Runs `work` with an emulator, and stops it (SIGTERM: exit code 0) after. */
  async function withEmulator<T>(
    options: Parameters<typeof startEmulator>[0],
    work: (emulator: RunningEmulator) => Promise<T>,
  ): Promise<T> {
    const emulator = await startEmulator(options);
    try {
      return await work(emulator);
    } finally {
      const code = await emulator.stop();
      assert.equal(code, 0, `emulator exited with ${code}:\n${emulator.output()}`);
    }
  }

  test('a state dump, loaded as a seed, is the same state (and what reset goes back to)', async () => {
    const dumped = await withEmulator({ seed }, async (emulator) => {
      await busyDay(emulator.client());
      return emulator.state();
    });
    const file = join(dir, 'dump.json');
    await writeFile(file, JSON.stringify(dumped));
    await withEmulator({ seed: file }, async (emulator) => {
      assert.deepEqual(await emulator.state(), dumped);
      await emulator.client().admin.organization.projects.create({ name: 'more' });
      await emulator.reset();
      assert.deepEqual(await emulator.state(), dumped);
    });
  });

  for (const backend of BACKENDS) {
    test(`--db keeps the state across a restart; the seed is not loaded over it again (${backend.name})`, async () => {
      const database = await backend.createDatabase();
      try {
        const before = await withEmulator({ db: database.url, seed }, async (emulator) => {
          await busyDay(emulator.client());
          return emulator.state();
        });
        await withEmulator({ db: database.url, seed }, async (emulator) => {
          assert.deepEqual(await emulator.state(), before);
          const client = emulator.client();
          const left = await client.fineTuning.checkpoints.permissions.list(CHECKPOINT);
          assert.ok(
            !left.data.some((p) => p.id === 'cp_seeded00000000000000001'),
            'a revoked seeded grant stays revoked',
          );
          // Reset still goes back to the seed.
          await emulator.reset();
          const again = await client.fineTuning.checkpoints.permissions.list(CHECKPOINT);
          assert.deepEqual(
            again.data.map((p) => p.id),
            ['cp_seeded00000000000000001'],
          );
        });
      } finally {
        await database.drop();
      }
    });
  }

  test('a seed that is not a seed document stops the emulator at start, naming the problem', async () => {
    const bad = join(dir, 'bad.yaml');
    await writeFile(bad, 'organizations:\n  - organization: { id: org-x, name: X }\n');
    await assert.rejects(startEmulator({ seed: bad }), (error: Error) => {
      assert.match(error.message, /exited with 1 before listening/);
      assert.match(
        error.message,
        /seed file .*bad\.yaml: \/organizations\/0\/organization must have required property 'created_at'/,
      );
      return true;
    });
  });

  test('ftshare serve, as a process, has no emulator routes and no root-mounted API', async () => {
    const adminKey = `sk-admin-${'a'.repeat(40)}`;
    const server = await startServer({ db: join(dir, 'serve.db'), adminKey });
    try {
      const root = server.baseURL.replace(/\/v1$/, '');
      for (const [method, path] of [
        ['POST', '/__ftshare/reset'],
        ['GET', '/__ftshare/state'],
        ['GET', '/organization/projects'],
      ] as const) {
        const response = await fetch(`${root}${path}`, { method, headers: bearer(adminKey) });
        assert.equal(response.status, 404, `${method} ${path}`);
        const body = (await response.json()) as { error: { message: string } };
        assert.equal(body.error.message, `Invalid URL (${method} ${path})`);
      }
      const unknown = await fetch(`${server.baseURL}/organization/projects`, { headers: bearer('My Admin API Key') });
      assert.equal(unknown.status, 401, 'an unknown bearer is no one');
    } finally {
      assert.equal(await server.stop(), 0);
    }
  });
});

describe('in process: the documented seed example, and no emulator routes in serve mode', () => {
  let ctx: Awaited<ReturnType<typeof openTestStore>>;
  let app: FastifyInstance;
  before(async () => {
    const [sqlite] = BACKENDS;
    assert.ok(sqlite);
    ctx = await openTestStore(sqlite);
    app = await testApp(ctx.store);
  });
  after(async () => {
    await app.close();
    await ctx.dispose();
  });

  test('docs/emulator.md’s seed example loads: two organizations, a key by secret and one by hash', async () => {
    const doc = await readFile(new URL('../../docs/emulator.md', import.meta.url), 'utf8');
    const yaml = /\*\*Seeds\.\*\*[\s\S]*?```yaml\n([\s\S]*?)```/.exec(doc)?.[1];
    assert.ok(yaml, 'the Seeds paragraph has a YAML example');
    const dir = await mkdtemp(join(tmpdir(), 'ftshare-readme-seed-'));
    const [sqlite] = BACKENDS;
    assert.ok(sqlite);
    const seeded = await openTestStore(sqlite);
    try {
      const file = join(dir, 'seed.yaml');
      await writeFile(file, yaml);
      const emulator = (await buildApp({
        store: seeded.store,
        emulator: { seed: await readSeedFile(file) },
      })) as unknown as FastifyInstance;
      try {
        const ci = await call(emulator, {
          method: 'GET',
          url: '/v1/organization/projects',
          headers: bearer('sk-admin-ci-00000000000000000000000000000'),
        });
        assert.deepEqual(
          ci.body.data.map((p: { id: string }) => p.id),
          ['proj_owner', 'proj_reader'],
        );
        const other = 'sk-admin-other-0000000000000000000000000';
        assert.ok(yaml.includes(createHash('sha256').update(other).digest('hex')));
        const keys = await call(emulator, {
          method: 'GET',
          url: '/v1/organization/admin_api_keys',
          headers: bearer(other),
        });
        assert.deepEqual(
          keys.body.data.map((k: { id: string }) => k.id),
          ['key_other'],
        );
        const grants = await call(emulator, {
          method: 'GET',
          url: '/v1/fine_tuning/checkpoints/ft:gpt-4o-mini-2024-07-18:acme:weather:B7R9VjQd/permissions',
          headers: bearer('My Admin API Key'),
        });
        assert.deepEqual(
          grants.body.data.map((p: { project_id: string }) => p.project_id),
          ['proj_reader'],
        );
      } finally {
        await emulator.close();
      }
    } finally {
      await seeded.dispose();
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('serve mode: /__ftshare/reset and /__ftshare/state are unknown URLs', async () => {
    for (const [method, url] of [
      ['POST', '/__ftshare/reset'],
      ['GET', '/__ftshare/state'],
    ] as const) {
      const response = await call(app, { method, url });
      assert.equal(response.status, 404);
      assert.equal(response.body.error.message, `Invalid URL (${method} ${url})`);
      assert.equal(response.body.error.code, 'unknown_url');
    }
  });
});
