import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import OpenAI from 'openai';
import { type RunningEmulator, startEmulator } from '../support/emulator.ts';

/**
 * Every route ftshare serves, called the way the SDKs' generated API tests call their mock server:
 * the official `openai` package against `ftshare emulate` (a real process) at its root URL, the
 * placeholder bearers `My API Key` / `My Admin API Key`, placeholder ids that exist nowhere, each
 * method with only its required params and with its optional ones too, and per resource a request
 * sent to an unknown path (NotFoundError). Written from the SDK's method signatures and OpenAI's
 * OpenAPI text. Every case starts from the seed (a YAML file): the emulator is reset before each.
 */

const CHECKPOINT = 'ft:gpt-4o-mini-2024-07-18:org:weather:B7R9VjQd';
const SEEDED_CHECKPOINT = 'ft:gpt-4o-mini-2024-07-18:acme:seeded:S33dCkpt';
const SEEDED_PERMISSION = 'cp_seeded00000000000000001';
const SEED_ADMIN_SECRET = `sk-admin-${'d'.repeat(40)}`;
const SECOND_ORG_SECRET = `sk-admin-${'e'.repeat(40)}`;
const HASHED_SECRET = `sk-admin-${'f'.repeat(40)}`;
const T0 = 1_700_000_000;

/** Two organizations; keys by secret and by hash; hand-written, so the optional fields are left out. */
const SEED_YAML = `
ftshare_state: 1
organizations:
  - organization: { id: org-default, name: Acme, created_at: ${T0} }
    projects:
      - { id: proj_seed, name: Seeded project, created_at: ${T0} }
      - { id: proj_reader, name: Reader, created_at: ${T0 + 1} }
    checkpoints:
      - { name: "${SEEDED_CHECKPOINT}", project_id: proj_seed, created_at: ${T0 + 2} }
    permissions:
      - { id: ${SEEDED_PERMISSION}, checkpoint: "${SEEDED_CHECKPOINT}", project_id: proj_reader, created_at: ${T0 + 3} }
    api_keys:
      - { id: key_seed, kind: admin, name: Seeded admin key, secret: ${SEED_ADMIN_SECRET}, created_at: ${T0 + 4} }
  - organization: { id: org-second, name: Second, created_at: ${T0 + 10} }
    projects:
      - { id: proj_second, name: Second's project, created_at: ${T0 + 11} }
    api_keys:
      - { id: key_second, kind: admin, name: By secret, secret: ${SECOND_ORG_SECRET}, created_at: ${T0 + 12} }
      - id: key_hashed
        kind: admin
        name: By hash
        hash: ${createHash('sha256').update(HASHED_SECRET).digest('hex')}
        created_at: ${T0 + 13}
`;

const UNKNOWN = { path: '/_stainless_unknown_path' };

type Promised<T> = PromiseLike<T> & {
  asResponse(): Promise<Response>;
  withResponse(): Promise<{ data: T; response: Response }>;
};

/** What the generated tests check of every call, and a 200: the raw response, then the parsed one. */
async function expectOk<T>(promise: Promised<T>): Promise<T> {
  const raw = await promise.asResponse();
  assert.ok(raw instanceof Response);
  assert.equal(raw.status, 200);
  assert.match(raw.headers.get('content-type') ?? '', /^application\/json/);
  const data = await promise;
  assert.ok(!(data instanceof Response));
  const both = await promise.withResponse();
  assert.equal(both.data, data);
  assert.equal(both.response, raw);
  return data;
}

/** A request sent to an unknown path: the SDK's NotFoundError, with OpenAI's message. */
async function expectUnknownPath(promise: PromiseLike<unknown>, method: string): Promise<void> {
  await assert.rejects(Promise.resolve(promise), (error: unknown) => {
    assert.ok(error instanceof OpenAI.NotFoundError, String(error));
    assert.equal(error.status, 404);
    assert.equal(error.message, `404 Invalid URL (${method} /_stainless_unknown_path)`);
    return true;
  });
}

/** A 400 naming the field at fault. */
async function expectBadRequest(promise: PromiseLike<unknown>, param: string): Promise<void> {
  await assert.rejects(Promise.resolve(promise), (error: unknown) => {
    assert.ok(error instanceof OpenAI.BadRequestError, String(error));
    assert.equal((error.error as { param?: unknown }).param, param);
    return true;
  });
}

/** A project key's `expires_at`, which openai 7.x types and 6.x does not. */
const expiresAt = (key: object) => (key as { expires_at?: number | null }).expires_at;

type Page<T> = { data: T[]; has_more?: boolean };
type Permission = { id: string; object: string; project_id: string; created_at: number };

describe('the openai SDK against `ftshare emulate`, every route, generated-test style', () => {
  let dir: string;
  let emulator: RunningEmulator;
  let client: OpenAI;
  const admin = () => client.admin.organization;
  const permissions = () => client.fineTuning.checkpoints.permissions;
  /** A client that sends `key` on every route, admin ones included. */
  const asKey = (key: string) => new OpenAI({ apiKey: key, adminAPIKey: key, baseURL: emulator.root, maxRetries: 0 });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ftshare-emulator-'));
    const seed = join(dir, 'seed.yaml');
    await writeFile(seed, SEED_YAML);
    emulator = await startEmulator({ seed });
    client = emulator.client();
  });
  after(async () => {
    const code = await emulator?.stop();
    await rm(dir, { recursive: true, force: true });
    assert.equal(code, 0, `emulator exited with ${code}:\n${emulator?.output()}`);
  });
  beforeEach(async () => emulator.reset());

  describe('fineTuning.checkpoints.permissions', () => {
    test('create: only required params', async () => {
      const page = await expectOk(permissions().create(CHECKPOINT, { project_ids: ['project_id'] }));
      assert.equal(page.data.length, 1);
      assert.equal(page.data[0]?.object, 'checkpoint.permission');
      assert.equal(page.data[0]?.project_id, 'project_id');
      assert.match(page.data[0]?.id ?? '', /^cp_[0-9A-Za-z]{24}$/);
    });

    test('create: required and optional params (there are none: several projects, a repeat counting once)', async () => {
      const page = await expectOk(
        permissions().create(CHECKPOINT, { project_ids: ['project_a', 'project_b', 'project_a'] }),
      );
      assert.deepEqual(
        page.data.map((p) => p.project_id),
        ['project_a', 'project_b'],
      );
    });

    test('retrieve (deprecated): only required params', async () => {
      const list = await expectOk(permissions().retrieve('ft-AF1WoRqd3aJAHsqc9NY7iL8F'));
      assert.equal(list.object, 'list');
      assert.deepEqual(list.data, []);
      assert.equal(list.has_more, false);
    });

    test('retrieve (deprecated): required and optional params', async () => {
      const granted = await permissions().create(CHECKPOINT, { project_ids: ['project_a', 'project_b', 'project_c'] });
      const [a, b] = granted.data;
      assert.ok(a && b);
      const page = await expectOk(permissions().retrieve(CHECKPOINT, { after: a.id, limit: 1, order: 'ascending' }));
      assert.deepEqual(
        page.data.map((p) => p.id),
        [b.id],
      );
      assert.equal(page.has_more, true);
      const filtered = await expectOk(
        permissions().retrieve(CHECKPOINT, { after: b.id, limit: 1, order: 'descending', project_id: 'project_b' }),
      );
      assert.deepEqual(filtered.data, []);
      assert.equal(filtered.has_more, false);
    });

    test('list: only required params', async () => {
      const page = await expectOk(permissions().list(SEEDED_CHECKPOINT));
      assert.deepEqual(
        page.data.map((p) => [p.id, p.project_id, p.created_at]),
        [[SEEDED_PERMISSION, 'proj_reader', T0 + 3]],
      );
    });

    test('list: required and optional params', async () => {
      const granted = await permissions().create(CHECKPOINT, { project_ids: ['project_a', 'project_b', 'project_c'] });
      const ids = granted.data.map((p) => p.id);
      const page = await expectOk(
        permissions().list(CHECKPOINT, {
          after: ids[1] as string,
          limit: 1,
          order: 'descending',
          project_id: 'project_b',
        }),
      );
      assert.deepEqual(page.data, []);
      const seen: string[] = [];
      for await (const permission of permissions().list(CHECKPOINT, {
        after: ids[0] as string,
        limit: 1,
        order: 'ascending',
      })) {
        seen.push(permission.id);
      }
      assert.deepEqual(seen, ids.slice(1));
    });

    test('delete: only required params (a permission that does not exist: the normal success body)', async () => {
      const deleted = await expectOk(
        permissions().delete('cp_zc4Q7MP6XxulcVzj4MZdwsAB', { fine_tuned_model_checkpoint: CHECKPOINT }),
      );
      assert.deepEqual(deleted, { object: 'checkpoint.permission', id: 'cp_zc4Q7MP6XxulcVzj4MZdwsAB', deleted: true });
    });

    test('delete: required and optional params (there are none: a seeded permission, gone after)', async () => {
      const deleted = await expectOk(
        permissions().delete(SEEDED_PERMISSION, { fine_tuned_model_checkpoint: SEEDED_CHECKPOINT }),
      );
      assert.deepEqual(deleted, { object: 'checkpoint.permission', id: SEEDED_PERMISSION, deleted: true });
      assert.deepEqual((await permissions().list(SEEDED_CHECKPOINT)).data, []);
    });

    test('request options are passed correctly: an unknown path is a NotFoundError', async () => {
      await expectUnknownPath(permissions().create(CHECKPOINT, { project_ids: ['project_id'] }, UNKNOWN), 'POST');
      const query = { after: 'after', limit: 0, order: 'ascending', project_id: 'project_id' } as const;
      await expectUnknownPath(permissions().retrieve('ft-AF1WoRqd3aJAHsqc9NY7iL8F', query, UNKNOWN), 'GET');
      await expectUnknownPath(permissions().list('ft-AF1WoRqd3aJAHsqc9NY7iL8F', query, UNKNOWN), 'GET');
      await expectUnknownPath(
        permissions().delete('cp_zc4Q7MP6XxulcVzj4MZdwsAB', { fine_tuned_model_checkpoint: CHECKPOINT }, UNKNOWN),
        'DELETE',
      );
    });
  });

  describe('checkpoint registry (ftshare extension, through the SDK’s generic methods)', () => {
    type Checkpoint = { object: string; id: string; project_id: string; created_at: number };

    test('register: required params (both are; the owner springs into being)', async () => {
      const body = { fine_tuned_model_checkpoint: CHECKPOINT, project_id: 'project_id' };
      const checkpoint = await expectOk(client.post<Checkpoint>('/fine_tuning/checkpoints', { body }));
      assert.equal(checkpoint.object, 'fine_tuning.checkpoint');
      assert.equal(checkpoint.id, CHECKPOINT);
      assert.equal(checkpoint.project_id, 'project_id');
      assert.equal((await admin().projects.retrieve('project_id')).id, 'project_id');
    });

    test('list: only required params', async () => {
      const page = await expectOk(client.get<Page<Checkpoint>>('/fine_tuning/checkpoints'));
      assert.deepEqual(
        page.data.map((c) => [c.id, c.project_id, c.created_at]),
        [[SEEDED_CHECKPOINT, 'proj_seed', T0 + 2]],
      );
    });

    test('list: required and optional params', async () => {
      await client.get(`/fine_tuning/checkpoints/${CHECKPOINT}`);
      const query = { after: SEEDED_CHECKPOINT, limit: 1, project_id: 'proj_seed' };
      const page = await expectOk(client.get<Page<Checkpoint>>('/fine_tuning/checkpoints', { query }));
      assert.deepEqual(page.data, []);
      const next = await expectOk(
        client.get<Page<Checkpoint>>('/fine_tuning/checkpoints', { query: { after: SEEDED_CHECKPOINT, limit: 1 } }),
      );
      assert.deepEqual(
        next.data.map((c) => [c.id, c.project_id]),
        [[CHECKPOINT, 'proj_default']],
      );
    });

    test('retrieve (a checkpoint that does not exist springs into being, owned by proj_default)', async () => {
      const checkpoint = await expectOk(client.get<Checkpoint>(`/fine_tuning/checkpoints/${CHECKPOINT}`));
      assert.equal(checkpoint.id, CHECKPOINT);
      assert.equal(checkpoint.project_id, 'proj_default');
    });

    test('delete (unknown: the success body; seeded: gone, with its permissions)', async () => {
      type Deleted = { object: string; id: string; deleted: boolean };
      const unknown = await expectOk(client.delete<Deleted>(`/fine_tuning/checkpoints/${CHECKPOINT}`));
      assert.deepEqual(unknown, { object: 'fine_tuning.checkpoint', id: CHECKPOINT, deleted: true });
      const seeded = await expectOk(client.delete<Deleted>(`/fine_tuning/checkpoints/${SEEDED_CHECKPOINT}`));
      assert.deepEqual(seeded, { object: 'fine_tuning.checkpoint', id: SEEDED_CHECKPOINT, deleted: true });
      const left = await client.get<Page<Checkpoint>>('/fine_tuning/checkpoints');
      assert.deepEqual(left.data, []);
    });

    test('request options are passed correctly: an unknown path is a NotFoundError', async () => {
      await expectUnknownPath(client.get('/fine_tuning/checkpoints', UNKNOWN), 'GET');
      await expectUnknownPath(client.post('/fine_tuning/checkpoints', { body: {}, ...UNKNOWN }), 'POST');
    });
  });

  describe('models', () => {
    test('list', async () => {
      const page = await expectOk(client.models.list());
      assert.ok(
        page.data.some((m) => m.id === SEEDED_CHECKPOINT && m.object === 'model' && m.owned_by === 'org-default'),
      );
    });

    test('retrieve (a model named exists)', async () => {
      const model = await expectOk(client.models.retrieve('gpt-4o-mini'));
      assert.equal(model.id, 'gpt-4o-mini');
      assert.equal(model.object, 'model');
      assert.ok((await client.models.list()).data.some((m) => m.id === 'gpt-4o-mini'));
    });

    test('delete (unknown: the success body; seeded: gone)', async () => {
      const unknown = await expectOk(client.models.delete('ft:gpt-4o-mini:acemeco:suffix:abc123'));
      assert.deepEqual(unknown, { id: 'ft:gpt-4o-mini:acemeco:suffix:abc123', object: 'model', deleted: true });
      const seeded = await expectOk(client.models.delete(SEEDED_CHECKPOINT));
      assert.deepEqual(seeded, { id: SEEDED_CHECKPOINT, object: 'model', deleted: true });
      assert.ok(!(await client.models.list()).data.some((m) => m.id === SEEDED_CHECKPOINT));
    });

    test('model access check (ftshare extension)', async () => {
      type Access = { data: { project_id: string; model: string; allowed: boolean; reason: string }[] };
      const body = {
        checks: [
          { project_id: 'proj_reader', model: SEEDED_CHECKPOINT },
          { project_id: 'proj_seed', model: SEEDED_CHECKPOINT },
          { project_id: 'project_id', model: SEEDED_CHECKPOINT },
        ],
      };
      const answer = await expectOk(client.post<Access>('/organization/model_access', { body }));
      assert.deepEqual(
        answer.data.map((a) => [a.project_id, a.allowed, a.reason]),
        [
          ['proj_reader', true, 'shared'],
          ['proj_seed', true, 'owner'],
          ['project_id', false, 'project_not_found'],
        ],
      );
    });

    test('request options are passed correctly: an unknown path is a NotFoundError', async () => {
      await expectUnknownPath(client.models.list(UNKNOWN), 'GET');
      await expectUnknownPath(client.models.retrieve('gpt-4o-mini', UNKNOWN), 'GET');
      await expectUnknownPath(client.models.delete('ft:gpt-4o-mini:acemeco:suffix:abc123', UNKNOWN), 'DELETE');
    });
  });

  describe('admin.organization.adminAPIKeys', () => {
    test('create: only required params', async () => {
      const key = await expectOk(admin().adminAPIKeys.create({ name: 'New Admin Key' }));
      assert.equal(key.object, 'organization.admin_api_key');
      assert.equal(key.name, 'New Admin Key');
      assert.match(key.value ?? '', /^sk-admin-/);
      assert.equal(key.expires_at, null);
    });

    test('create: required and optional params', async () => {
      const key = await expectOk(admin().adminAPIKeys.create({ name: 'New Admin Key', expires_in_seconds: 3600 }));
      assert.equal(key.expires_at, key.created_at + 3600);
    });

    test('retrieve (an admin key named springs into being)', async () => {
      const key = await expectOk(admin().adminAPIKeys.retrieve('key_id'));
      assert.equal(key.id, 'key_id');
      assert.equal(key.object, 'organization.admin_api_key');
    });

    test('list: only required params', async () => {
      const page = await expectOk(admin().adminAPIKeys.list());
      const ids = page.data.map((k) => k.id);
      assert.ok(ids.includes('key_seed') && ids.includes('key_emulator'), ids.join());
      assert.ok(!ids.includes('key_second'), 'another organization’s key');
    });

    test('list: required and optional params (and openai 7.x’s after: null)', async () => {
      await admin().adminAPIKeys.create({ name: 'later' });
      const all = (await admin().adminAPIKeys.list({ order: 'asc' })).data.map((k) => k.id);
      const page = await expectOk(admin().adminAPIKeys.list({ after: all[0] as string, limit: 1, order: 'asc' }));
      assert.deepEqual(
        page.data.map((k) => k.id),
        [all[1]],
      );
      const first = await expectOk(
        admin().adminAPIKeys.list({ after: null, limit: 1, order: 'asc' } as unknown as { after?: string }),
      );
      assert.deepEqual(
        first.data.map((k) => k.id),
        [all[0]],
      );
    });

    test('delete (unknown: the success body; seeded: its secret answers 401 from then on)', async () => {
      const unknown = await expectOk(admin().adminAPIKeys.delete('key_id'));
      assert.deepEqual(unknown, { id: 'key_id', object: 'organization.admin_api_key.deleted', deleted: true });
      await expectOk(admin().adminAPIKeys.delete('key_seed'));
      const seeded = asKey(SEED_ADMIN_SECRET);
      await assert.rejects(seeded.admin.organization.projects.list(), OpenAI.AuthenticationError);
    });

    test('request options are passed correctly: an unknown path is a NotFoundError', async () => {
      await expectUnknownPath(admin().adminAPIKeys.list({ after: 'after', limit: 0, order: 'asc' }, UNKNOWN), 'GET');
      await expectUnknownPath(admin().adminAPIKeys.create({ name: 'New Admin Key' }, UNKNOWN), 'POST');
      await expectUnknownPath(admin().adminAPIKeys.retrieve('key_id', UNKNOWN), 'GET');
      await expectUnknownPath(admin().adminAPIKeys.delete('key_id', UNKNOWN), 'DELETE');
    });
  });

  describe('admin.organization.auditLogs', () => {
    test('list: only required params', async () => {
      await admin().projects.create({ name: 'audited' });
      const page = await expectOk(admin().auditLogs.list());
      assert.equal(page.data[0]?.type, 'project.created');
      assert.equal(page.data[0]?.actor?.api_key?.id, 'key_emulator');
    });

    test('list: required and optional params', async () => {
      const one = await admin().projects.create({ name: 'one' });
      const two = await admin().projects.create({ name: 'two' });
      const events = (await admin().auditLogs.list({ event_types: ['project.created'] })).data;
      const [newest, older] = events;
      assert.ok(newest && older);
      const everything = {
        actor_emails: ['ci@example.com'],
        actor_ids: ['key_emulator'],
        effective_at: { gt: 0, gte: 0, lt: 2 ** 31, lte: 2 ** 31 },
        event_types: ['project.created' as const],
        limit: 5,
        project_ids: [one.id, two.id],
        resource_ids: [one.id, two.id],
        tenant_only: true,
      };
      const afterNewest = await expectOk(admin().auditLogs.list({ ...everything, after: newest.id }));
      assert.deepEqual(
        afterNewest.data.map((e) => e.id),
        [older.id],
      );
      const beforeOlder = await expectOk(admin().auditLogs.list({ ...everything, before: older.id }));
      assert.deepEqual(
        beforeOlder.data.map((e) => e.id),
        [newest.id],
      );
    });

    test('request options are passed correctly: an unknown path is a NotFoundError', async () => {
      const query = {
        actor_emails: ['string'],
        actor_ids: ['string'],
        after: 'after',
        before: 'before',
        effective_at: { gt: 0, gte: 0, lt: 0, lte: 0 },
        event_types: ['api_key.created' as const],
        limit: 0,
        project_ids: ['string'],
        resource_ids: ['string'],
        tenant_only: true,
      };
      await expectUnknownPath(admin().auditLogs.list(query, UNKNOWN), 'GET');
    });
  });

  describe('admin.organization.projects', () => {
    test('create: only required params', async () => {
      const project = await expectOk(admin().projects.create({ name: 'name' }));
      assert.equal(project.object, 'organization.project');
      assert.equal(project.name, 'name');
      assert.equal(project.status, 'active');
    });

    test('create: required and optional params (openai 7.x’s residency too)', async () => {
      const body = { name: 'name', external_key_id: 'external_key_id', geography: 'geography', residency: 'GLOBAL' };
      const project = await expectOk(admin().projects.create(body));
      assert.equal(project.name, 'name');
    });

    test('retrieve (a project named springs into being, named after its id)', async () => {
      const project = await expectOk(admin().projects.retrieve('project_id'));
      assert.equal(project.id, 'project_id');
      assert.equal(project.name, 'project_id');
    });

    test('update: only required params', async () => {
      const project = await expectOk(admin().projects.update('project_id', {}));
      assert.equal(project.id, 'project_id');
    });

    test('update: required and optional params', async () => {
      const body = { name: 'renamed', external_key_id: 'external_key_id', geography: 'geography' };
      const project = await expectOk(admin().projects.update('project_id', body));
      assert.equal(project.name, 'renamed');
      assert.equal((await admin().projects.retrieve('project_id')).name, 'renamed');
    });

    test('list: only required params', async () => {
      const page = await expectOk(admin().projects.list());
      assert.deepEqual(
        page.data.map((p) => p.id),
        ['proj_seed', 'proj_reader'],
      );
    });

    test('list: required and optional params', async () => {
      await admin().projects.archive('project_id');
      const page = await expectOk(admin().projects.list({ after: 'proj_reader', include_archived: true, limit: 1 }));
      assert.deepEqual(
        page.data.map((p) => [p.id, p.status]),
        [['project_id', 'archived']],
      );
    });

    test('archive', async () => {
      const project = await expectOk(admin().projects.archive('project_id'));
      assert.equal(project.status, 'archived');
      assert.equal(typeof project.archived_at, 'number');
    });

    test('request options are passed correctly: an unknown path is a NotFoundError', async () => {
      await expectUnknownPath(
        admin().projects.list({ after: 'after', include_archived: true, limit: 0 }, UNKNOWN),
        'GET',
      );
      await expectUnknownPath(admin().projects.create({ name: 'name' }, UNKNOWN), 'POST');
      await expectUnknownPath(admin().projects.retrieve('project_id', UNKNOWN), 'GET');
      await expectUnknownPath(admin().projects.archive('project_id', UNKNOWN), 'POST');
    });
  });

  describe('admin.organization.projects.apiKeys', () => {
    type ProjectKey = { object: string; id: string; expires_at: number | null; created_at: number };

    test('retrieve: only required params (a key named springs into being, with a service account)', async () => {
      const key = await expectOk(admin().projects.apiKeys.retrieve('api_key_id', { project_id: 'project_id' }));
      assert.equal(key.object, 'organization.project.api_key');
      assert.equal(key.id, 'api_key_id');
      assert.equal(key.owner?.type, 'service_account');
    });

    test('retrieve: required and optional params (there are none)', async () => {
      const key = await expectOk(admin().projects.apiKeys.retrieve('api_key_id', { project_id: 'project_id' }));
      assert.equal(key.id, 'api_key_id');
    });

    test('list: only required params', async () => {
      const page = await expectOk(admin().projects.apiKeys.list('project_id'));
      assert.deepEqual(page.data, []);
    });

    test('list: required and optional params', async () => {
      await admin().projects.apiKeys.retrieve('key_a', { project_id: 'project_id' });
      await admin().projects.apiKeys.retrieve('key_b', { project_id: 'project_id' });
      const query = { after: 'key_a', limit: 1, owner_project_access: 'active' as const };
      const page = await expectOk(admin().projects.apiKeys.list('project_id', query));
      assert.deepEqual(
        page.data.map((k) => k.id),
        ['key_b'],
      );
    });

    test('update (openai 7.x): only required params', async () => {
      const key = await expectOk(
        client.post<ProjectKey>('/organization/projects/project_id/api_keys/api_key_id', { body: {} }),
      );
      assert.equal(key.id, 'api_key_id');
    });

    test('update (openai 7.x): required and optional params', async () => {
      const body = { expires_in_seconds: 3600, scopes: ['model.read'] };
      const key = await expectOk(
        client.post<ProjectKey>('/organization/projects/project_id/api_keys/api_key_id', { body }),
      );
      assert.equal(key.expires_at, key.created_at + 3600);
    });

    test('delete: only required params (unknown: the success body)', async () => {
      const deleted = await expectOk(admin().projects.apiKeys.delete('api_key_id', { project_id: 'project_id' }));
      assert.deepEqual(deleted, { object: 'organization.project.api_key.deleted', id: 'api_key_id', deleted: true });
    });

    test('delete: required and optional params (there are none: a key that exists, gone after)', async () => {
      await admin().projects.apiKeys.retrieve('api_key_id', { project_id: 'project_id' });
      await expectOk(admin().projects.apiKeys.delete('api_key_id', { project_id: 'project_id' }));
      assert.deepEqual((await admin().projects.apiKeys.list('project_id')).data, []);
    });

    test('request options are passed correctly: an unknown path is a NotFoundError', async () => {
      await expectUnknownPath(
        admin().projects.apiKeys.list('project_id', { after: 'after', limit: 0 }, UNKNOWN),
        'GET',
      );
      await expectUnknownPath(
        admin().projects.apiKeys.retrieve('api_key_id', { project_id: 'project_id' }, UNKNOWN),
        'GET',
      );
      await expectUnknownPath(
        admin().projects.apiKeys.delete('api_key_id', { project_id: 'project_id' }, UNKNOWN),
        'DELETE',
      );
    });
  });

  describe('admin.organization.projects.modelPermissions', () => {
    test('retrieve (none set: a deny list of nothing)', async () => {
      const rule = await expectOk(admin().projects.modelPermissions.retrieve('project_id'));
      assert.deepEqual(rule, { object: 'project.model_permissions', mode: 'deny_list', model_ids: [] });
    });

    test('update: only required params', async () => {
      const rule = await expectOk(
        admin().projects.modelPermissions.update('project_id', { mode: 'allow_list', model_ids: ['string'] }),
      );
      assert.deepEqual(rule, { object: 'project.model_permissions', mode: 'allow_list', model_ids: ['string'] });
    });

    test('update: required and optional params (there are none: a deny list that hides a shared model)', async () => {
      await expectOk(
        admin().projects.modelPermissions.update('proj_reader', { mode: 'deny_list', model_ids: [SEEDED_CHECKPOINT] }),
      );
      type Access = { data: { allowed: boolean; reason: string }[] };
      const body = { checks: [{ project_id: 'proj_reader', model: SEEDED_CHECKPOINT }] };
      const answer = await client.post<Access>('/organization/model_access', { body });
      assert.deepEqual(answer.data[0], { ...answer.data[0], allowed: false, reason: 'denied' });
    });

    test('delete', async () => {
      const deleted = await expectOk(admin().projects.modelPermissions.delete('project_id'));
      assert.deepEqual(deleted, { object: 'project.model_permissions.deleted', deleted: true });
    });

    test('request options are passed correctly: an unknown path is a NotFoundError', async () => {
      await expectUnknownPath(admin().projects.modelPermissions.retrieve('project_id', UNKNOWN), 'GET');
      await expectUnknownPath(
        admin().projects.modelPermissions.update('project_id', { mode: 'allow_list', model_ids: [] }, UNKNOWN),
        'POST',
      );
      await expectUnknownPath(admin().projects.modelPermissions.delete('project_id', UNKNOWN), 'DELETE');
    });
  });

  describe('admin.organization.projects.serviceAccounts', () => {
    test('create: only required params (with a project key, shown once)', async () => {
      const account = await expectOk(admin().projects.serviceAccounts.create('project_id', { name: 'name' }));
      assert.equal(account.object, 'organization.project.service_account');
      assert.equal(account.role, 'member');
      assert.match(account.api_key?.value ?? '', /^sk-proj-/);
    });

    test('create: required and optional params (openai 7.x’s expires_in_seconds too)', async () => {
      const only = await expectOk(
        admin().projects.serviceAccounts.create('project_id', { name: 'name', create_service_account_only: true }),
      );
      assert.equal(only.role, 'none');
      assert.equal(only.api_key, null);
      const body = { name: 'name', create_service_account_only: false, expires_in_seconds: 3600 };
      const withKey = await expectOk(admin().projects.serviceAccounts.create('project_id', body));
      assert.ok(withKey.api_key);
      const key = await admin().projects.apiKeys.retrieve(withKey.api_key.id, { project_id: 'project_id' });
      assert.equal(expiresAt(key), key.created_at + 3600);
    });

    test('retrieve: only required params (a service account named springs into being)', async () => {
      const account = await expectOk(
        admin().projects.serviceAccounts.retrieve('service_account_id', { project_id: 'project_id' }),
      );
      assert.equal(account.id, 'service_account_id');
      assert.equal(account.object, 'organization.project.service_account');
    });

    test('retrieve: required and optional params (there are none)', async () => {
      const account = await expectOk(
        admin().projects.serviceAccounts.retrieve('service_account_id', { project_id: 'project_id' }),
      );
      assert.equal(account.id, 'service_account_id');
    });

    test('update: only required params', async () => {
      const account = await expectOk(
        admin().projects.serviceAccounts.update('service_account_id', { project_id: 'project_id' }),
      );
      assert.equal(account.id, 'service_account_id');
    });

    test('update: required and optional params', async () => {
      const account = await expectOk(
        admin().projects.serviceAccounts.update('service_account_id', {
          project_id: 'project_id',
          name: 'name',
          role: 'owner',
        }),
      );
      assert.equal(account.name, 'name');
      assert.equal(account.role, 'owner');
    });

    test('list: only required params', async () => {
      const page = await expectOk(admin().projects.serviceAccounts.list('project_id'));
      assert.deepEqual(page.data, []);
    });

    test('list: required and optional params', async () => {
      await admin().projects.serviceAccounts.retrieve('account_a', { project_id: 'project_id' });
      await admin().projects.serviceAccounts.retrieve('account_b', { project_id: 'project_id' });
      const page = await expectOk(
        admin().projects.serviceAccounts.list('project_id', { after: 'account_a', limit: 1 }),
      );
      assert.deepEqual(
        page.data.map((a) => a.id),
        ['account_b'],
      );
    });

    test('delete: only required params (unknown: the success body)', async () => {
      const deleted = await expectOk(
        admin().projects.serviceAccounts.delete('service_account_id', { project_id: 'project_id' }),
      );
      assert.deepEqual(deleted, {
        object: 'organization.project.service_account.deleted',
        id: 'service_account_id',
        deleted: true,
      });
    });

    test('delete: required and optional params (there are none: one that exists, and its key, gone)', async () => {
      const account = await admin().projects.serviceAccounts.create('project_id', { name: 'name' });
      await expectOk(admin().projects.serviceAccounts.delete(account.id, { project_id: 'project_id' }));
      assert.deepEqual((await admin().projects.serviceAccounts.list('project_id')).data, []);
      const key = asKey(account.api_key?.value ?? '');
      await assert.rejects(key.models.list(), OpenAI.AuthenticationError);
    });

    test('request options are passed correctly: an unknown path is a NotFoundError', async () => {
      await expectUnknownPath(
        admin().projects.serviceAccounts.list('project_id', { after: 'after', limit: 0 }, UNKNOWN),
        'GET',
      );
      await expectUnknownPath(admin().projects.serviceAccounts.create('project_id', { name: 'name' }, UNKNOWN), 'POST');
      await expectUnknownPath(
        admin().projects.serviceAccounts.retrieve('service_account_id', { project_id: 'project_id' }, UNKNOWN),
        'GET',
      );
      await expectUnknownPath(
        admin().projects.serviceAccounts.update('service_account_id', { project_id: 'project_id' }, UNKNOWN),
        'POST',
      );
      await expectUnknownPath(
        admin().projects.serviceAccounts.delete('service_account_id', { project_id: 'project_id' }, UNKNOWN),
        'DELETE',
      );
    });
  });

  describe('admin.organization.projects.serviceAccounts.apiKeys', () => {
    test('create: only required params', async () => {
      const key = await expectOk(
        admin().projects.serviceAccounts.apiKeys.create('service_account_id', { project_id: 'project_id' }),
      );
      assert.equal(key.object, 'organization.project.service_account.api_key');
      assert.match(key.value, /^sk-proj-/);
    });

    test('create: required and optional params (openai 7.x’s expires_in_seconds too)', async () => {
      const params = { project_id: 'project_id', name: 'name', scopes: ['model.read'], expires_in_seconds: 60 };
      const key = await expectOk(admin().projects.serviceAccounts.apiKeys.create('service_account_id', params));
      assert.equal(key.name, 'name');
      const listed = await admin().projects.apiKeys.retrieve(key.id, { project_id: 'project_id' });
      assert.equal(expiresAt(listed), listed.created_at + 60);
    });

    test('request options are passed correctly: an unknown path is a NotFoundError', async () => {
      await expectUnknownPath(
        admin().projects.serviceAccounts.apiKeys.create('service_account_id', { project_id: 'project_id' }, UNKNOWN),
        'POST',
      );
    });
  });

  describe('export and import (ftshare extensions)', () => {
    type Document = { organization: { id: string }; projects: { id: string }[] };

    test('export', async () => {
      const document = await expectOk(client.get<Document>('/organization/export'));
      assert.equal(document.organization.id, 'org-default');
      assert.deepEqual(
        document.projects.map((p) => p.id),
        ['proj_seed', 'proj_reader'],
      );
    });

    test('import: a part of a document', async () => {
      const body = {
        projects: [{ id: 'proj_imported', name: 'Imported', external_key_id: null, created_at: T0, archived_at: null }],
      };
      type Imported = { object: string; inserted: { projects: number } };
      const outcome = await expectOk(client.post<Imported>('/organization/import', { body }));
      assert.equal(outcome.object, 'organization.import');
      assert.equal(outcome.inserted.projects, 1);
      assert.equal((await admin().projects.retrieve('proj_imported')).name, 'Imported');
    });

    test('request options are passed correctly: an unknown path is a NotFoundError', async () => {
      await expectUnknownPath(client.get('/organization/export', UNKNOWN), 'GET');
    });
  });

  describe('operations', () => {
    test('the OpenAPI document (at the root, as at /v1)', async () => {
      type Document = { openapi: string; paths: Record<string, unknown> };
      const document = await expectOk(client.get<Document>('/openapi.json'));
      assert.match(document.openapi, /^3\.1/);
      assert.ok('/v1/fine_tuning/checkpoints/{fine_tuned_model_checkpoint}/permissions' in document.paths);
    });

    test('health and readiness, without a key', async () => {
      assert.equal((await fetch(`${emulator.root}/healthz`)).status, 200);
      assert.equal((await fetch(`${emulator.root}/readyz`)).status, 200);
    });
  });

  describe('fields no SDK sends are still refused (the real server’s validation)', () => {
    test('an unknown body field is a 400 naming it, on every route with a body', async () => {
      const cases: [string, Record<string, unknown>][] = [
        [`/fine_tuning/checkpoints/${CHECKPOINT}/permissions`, { project_ids: ['p'] }],
        ['/fine_tuning/checkpoints', { fine_tuned_model_checkpoint: CHECKPOINT, project_id: 'p' }],
        ['/organization/admin_api_keys', { name: 'n' }],
        ['/organization/projects', { name: 'n' }],
        ['/organization/projects/project_id', {}],
        ['/organization/projects/project_id/api_keys/api_key_id', {}],
        ['/organization/projects/project_id/model_permissions', { mode: 'allow_list', model_ids: [] }],
        ['/organization/projects/project_id/service_accounts', { name: 'n' }],
        ['/organization/projects/project_id/service_accounts/service_account_id', {}],
        ['/organization/projects/project_id/service_accounts/service_account_id/api_keys', {}],
        ['/organization/model_access', { checks: [{ project_id: 'p', model: 'm' }] }],
      ];
      for (const [path, body] of cases) {
        await expectBadRequest(client.post(path, { body: { ...body, not_a_field: true } }), 'not_a_field');
      }
    });

    test('a bad value is a 400 naming its field', async () => {
      await expectBadRequest(permissions().create(CHECKPOINT, { project_ids: [] }), 'project_ids');
      await expectBadRequest(permissions().list(CHECKPOINT, { limit: 0 }), 'limit');
      await expectBadRequest(admin().projects.list({ after: 'not_a_project_of_the_list' }), 'after');
    });
  });

  describe('state across calls', () => {
    test('a grant is listed (every page, through the SDK’s pagination), a revoke is gone', async () => {
      const projects = Array.from({ length: 12 }, (_, i) => `project_${String(i).padStart(2, '0')}`);
      const granted = await permissions().create(CHECKPOINT, { project_ids: projects });
      const listed: Permission[] = [];
      for await (const permission of permissions().list(CHECKPOINT, { order: 'ascending' })) listed.push(permission);
      assert.deepEqual(listed, granted.data);
      const revoked = granted.data[5] as Permission;
      await permissions().delete(revoked.id, { fine_tuned_model_checkpoint: CHECKPOINT });
      const left: string[] = [];
      for await (const permission of permissions().list(CHECKPOINT)) left.push(permission.project_id);
      assert.equal(left.length, 11);
      assert.ok(!left.includes(revoked.project_id));
      // The same state at /v1, where the real server serves it.
      const v1 = new OpenAI({ apiKey: 'My API Key', adminAPIKey: 'My Admin API Key', baseURL: emulator.baseURL });
      assert.equal((await v1.fineTuning.checkpoints.permissions.retrieve(CHECKPOINT, { limit: 100 })).data.length, 11);
    });

    test('a project key made here is a known key: its own models only, and no admin routes', async () => {
      await permissions().create(SEEDED_CHECKPOINT, { project_ids: ['project_id'] });
      const account = await admin().projects.serviceAccounts.create('project_id', { name: 'ci' });
      const key = asKey(account.api_key?.value ?? '');
      assert.deepEqual(
        (await key.models.list()).data.map((m) => m.id),
        [SEEDED_CHECKPOINT],
      );
      await assert.rejects(key.models.retrieve('gpt-4o-mini'), OpenAI.NotFoundError);
      await assert.rejects(key.admin.organization.projects.list(), OpenAI.PermissionDeniedError);
    });

    test('reset brings back the seed, and only it', async () => {
      const seeded = await emulator.state();
      await admin().projects.create({ name: 'extra' });
      await admin().projects.archive('proj_seed');
      await permissions().delete(SEEDED_PERMISSION, { fine_tuned_model_checkpoint: SEEDED_CHECKPOINT });
      await admin().adminAPIKeys.delete('key_seed');
      await emulator.reset();
      const again = await emulator.state();
      const records = (state: typeof seeded) =>
        state.organizations.map(({ organization, projects, checkpoints, permissions, service_accounts }) => ({
          organization,
          projects,
          checkpoints,
          permissions,
          service_accounts,
        }));
      assert.deepEqual(records(again), records(seeded));
      const seededKey = asKey(SEED_ADMIN_SECRET);
      assert.equal((await seededKey.admin.organization.projects.retrieve('proj_seed')).status, 'active');
    });

    test('two seeded organizations: each key (by secret or by hash) is its own organization’s admin', async () => {
      for (const secret of [SECOND_ORG_SECRET, HASHED_SECRET]) {
        const second = asKey(secret);
        assert.deepEqual(
          (await second.admin.organization.projects.list()).data.map((p) => p.id),
          ['proj_second'],
        );
      }
      // Another organization's checkpoint is as if it did not exist: named, it springs into being here.
      assert.equal((await asKey(SECOND_ORG_SECRET).models.retrieve(SEEDED_CHECKPOINT)).owned_by, 'org-second');
      assert.equal((await client.models.retrieve(SEEDED_CHECKPOINT)).owned_by, 'org-default');
      assert.ok(!(await admin().projects.list()).data.some((p) => p.id === 'proj_second'));
      const state = await emulator.state();
      assert.deepEqual(
        state.organizations.map((o) => o.organization.id),
        ['org-default', 'org-second'],
      );
    });
  });
});
