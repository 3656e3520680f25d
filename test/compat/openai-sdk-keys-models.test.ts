import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import { randomBase62 } from '../../src/ids.ts';
import { backends, type TestDatabase } from '../support/backends.ts';
import { type JsonClient, jsonClient, newAdminKey, registerCheckpoint } from '../support/remote.ts';
import { type RunningServer, startServer } from '../support/server.ts';

/**
 * CONTRACT §5/§5a through the official `openai` package, unmodified, against the real server
 * process: admin API keys, service accounts (and their extra keys), project API keys, project
 * model permissions and /v1/models, with the SDK's own paths, auth headers, pagination and errors.
 */

const BASE = ['gpt-4o-mini', 'meta-llama/Llama-3.1-8B'];
let counter = 0;
const uniqueCheckpoint = () => `ft:gpt-4o-mini-2024-07-18:acme:sdkm${counter++}:${randomBase62(8)}`;

/** Asserts that `promise` rejects with the SDK error class `type` (and status, code, param if given). */
async function rejectsWith(
  promise: Promise<unknown>,
  type: new (...args: never[]) => InstanceType<typeof OpenAI.APIError>,
  expected: { code?: string; param?: string } = {},
): Promise<void> {
  await assert.rejects(promise, (error) => {
    assert.ok(error instanceof type, `${type.name} expected, got ${String(error)}`);
    if (expected.code !== undefined) assert.equal(error.code, expected.code);
    if (expected.param !== undefined) assert.equal(error.param, expected.param);
    assert.deepEqual(Object.keys(error.error as object).sort(), ['code', 'message', 'param', 'type']);
    return true;
  });
}

async function all<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}

for (const backend of await backends()) {
  describe(`openai SDK: keys, service accounts, model permissions, models (${backend.name})`, () => {
    const adminKey = newAdminKey();
    let database: TestDatabase | undefined;
    let server: RunningServer | undefined;
    /** Admin routes authenticate with `adminAPIKey`; /v1/models with `apiKey`. */
    let admin: OpenAI;
    let api: JsonClient;
    const keyClient = (key: string) =>
      new OpenAI({ apiKey: key, adminAPIKey: key, baseURL: server?.baseURL ?? '', maxRetries: 0 });
    const organization = () => admin.admin.organization;

    before(async () => {
      database = await backend.createDatabase();
      server = await startServer({ db: database.url, adminKey, env: { FTSHARE_BASE_MODELS: BASE.join(',') } });
      admin = keyClient(adminKey);
      api = jsonClient(server.baseURL, adminKey);
    });

    after(async () => {
      const code = await server?.stop();
      await database?.drop();
      assert.equal(code, 0, `server exited with ${code}:\n${server?.output()}`);
    });

    test('adminAPIKeys: create shows the secret once; retrieve, list (auto-paging) and delete', async () => {
      const created = await organization().adminAPIKeys.create({ name: 'sdk key', expires_in_seconds: 3600 });
      assert.match(created.value, /^sk-admin-[0-9A-Za-z]{48}$/);
      assert.equal(created.object, 'organization.admin_api_key');
      assert.equal(created.redacted_value, `${created.value.slice(0, 6)}****${created.value.slice(-4)}`);
      assert.equal(created.expires_at, created.created_at + 3600);
      const { value, ...shown } = created;
      const retrieved = await organization().adminAPIKeys.retrieve(created.id);
      assert.deepEqual(retrieved, shown);
      assert.ok(!JSON.stringify(retrieved).includes(value));

      const more = [];
      for (let i = 0; i < 4; i++) more.push(await organization().adminAPIKeys.create({ name: `sdk ${i}` }));
      const listed = await all(organization().adminAPIKeys.list({ limit: 2 }));
      const ids = listed.map((k) => k.id);
      assert.equal(new Set(ids).size, ids.length, 'no key twice');
      for (const key of [created, ...more]) assert.ok(ids.includes(key.id), `${key.id} listed`);
      assert.ok(!JSON.stringify(listed).includes(value));
      const descending = await all(organization().adminAPIKeys.list({ limit: 3, order: 'desc' }));
      assert.deepEqual(
        descending.map((k) => k.id),
        [...ids].reverse(),
      );

      // The new key is an admin key; once deleted it is refused.
      const withNew = keyClient(value);
      assert.equal((await withNew.admin.organization.adminAPIKeys.retrieve(created.id)).id, created.id);
      assert.deepEqual(await organization().adminAPIKeys.delete(created.id), {
        id: created.id,
        object: 'organization.admin_api_key.deleted',
        deleted: true,
      });
      await rejectsWith(withNew.admin.organization.adminAPIKeys.list(), OpenAI.AuthenticationError, {
        code: 'invalid_api_key',
      });
      await rejectsWith(organization().adminAPIKeys.retrieve(created.id), OpenAI.NotFoundError);
      await rejectsWith(organization().adminAPIKeys.delete(created.id), OpenAI.NotFoundError);
      await rejectsWith(
        organization().adminAPIKeys.create({ name: 'x', expires_in_seconds: 0 }),
        OpenAI.BadRequestError,
        { param: 'expires_in_seconds' },
      );
      await rejectsWith(organization().adminAPIKeys.list({ after: created.id }), OpenAI.BadRequestError, {
        param: 'after',
      });
    });

    test('serviceAccounts: create, list (auto-paging), retrieve, update, apiKeys.create, delete', async () => {
      const project = await organization().projects.create({ name: 'sdk accounts' });
      const created = await organization().projects.serviceAccounts.create(project.id, { name: 'bot' });
      assert.equal(created.role, 'member');
      const secret = created.api_key?.value ?? '';
      assert.match(secret, /^sk-proj-/);
      const others = [];
      for (let i = 0; i < 4; i++) {
        others.push(await organization().projects.serviceAccounts.create(project.id, { name: `bot ${i}` }));
      }
      const keyless = await organization().projects.serviceAccounts.create(project.id, {
        name: 'keyless',
        create_service_account_only: true,
      });
      assert.equal(keyless.api_key, null);
      assert.equal(keyless.role, 'none');

      const listed = await all(organization().projects.serviceAccounts.list(project.id, { limit: 2 }));
      assert.deepEqual(listed.map((a) => a.id).sort(), [created, ...others, keyless].map((a) => a.id).sort());
      assert.ok(!JSON.stringify(listed).includes(secret));
      const params = { project_id: project.id };
      assert.deepEqual(await organization().projects.serviceAccounts.retrieve(created.id, params), {
        object: 'organization.project.service_account',
        id: created.id,
        name: 'bot',
        role: 'member',
        created_at: created.created_at,
      });
      const updated = await organization().projects.serviceAccounts.update(created.id, {
        ...params,
        name: 'bot 2',
        role: 'owner',
      });
      assert.deepEqual([updated.name, updated.role], ['bot 2', 'owner']);

      const extra = await organization().projects.serviceAccounts.apiKeys.create(created.id, {
        ...params,
        name: 'extra',
        scopes: ['api.model.read'],
      });
      assert.equal(extra.object, 'organization.project.service_account.api_key');
      assert.equal(extra.name, 'extra');
      for (const key of [secret, extra.value]) assert.ok(Array.isArray((await keyClient(key).models.list()).data));

      assert.deepEqual(await organization().projects.serviceAccounts.delete(created.id, params), {
        object: 'organization.project.service_account.deleted',
        id: created.id,
        deleted: true,
      });
      for (const key of [secret, extra.value]) {
        await rejectsWith(keyClient(key).models.list(), OpenAI.AuthenticationError, { code: 'invalid_api_key' });
      }
      await rejectsWith(organization().projects.serviceAccounts.retrieve(created.id, params), OpenAI.NotFoundError);
      await rejectsWith(
        organization().projects.serviceAccounts.update(created.id, { ...params, role: 'member' }),
        OpenAI.NotFoundError,
      );

      await organization().projects.archive(project.id);
      await rejectsWith(
        organization().projects.serviceAccounts.create(project.id, { name: 'late' }),
        OpenAI.BadRequestError,
        { code: 'project_archived' },
      );
      await rejectsWith(
        organization().projects.serviceAccounts.apiKeys.create(others[0]?.id ?? '', params),
        OpenAI.BadRequestError,
        { code: 'project_archived' },
      );
    });

    test('projects.apiKeys: list (auto-paging), retrieve, delete; a deleted key is refused', async () => {
      const project = await organization().projects.create({ name: 'sdk keys' });
      const accounts = [];
      for (let i = 0; i < 3; i++) {
        accounts.push(await organization().projects.serviceAccounts.create(project.id, { name: `k${i}` }));
      }
      const keyIds = accounts.map((a) => a.api_key?.id ?? '');
      const listed = await all(organization().projects.apiKeys.list(project.id, { limit: 1 }));
      assert.deepEqual(listed.map((k) => k.id).sort(), [...keyIds].sort());
      const first = accounts[0];
      const firstKey = listed.find((k) => k.id === first?.api_key?.id);
      assert.equal(firstKey?.owner.type, 'service_account');
      assert.equal(firstKey?.owner.service_account?.id, first?.id);
      assert.equal(firstKey?.owner_project_access, 'active');
      const secret = first?.api_key?.value ?? '';
      assert.equal(firstKey?.redacted_value, `${secret.slice(0, 6)}****${secret.slice(-4)}`);
      assert.ok(!JSON.stringify(listed).includes(secret));

      const params = { project_id: project.id };
      assert.deepEqual(await organization().projects.apiKeys.retrieve(keyIds[0] ?? '', params), firstKey);
      assert.deepEqual(await organization().projects.apiKeys.delete(keyIds[0] ?? '', params), {
        object: 'organization.project.api_key.deleted',
        id: keyIds[0],
        deleted: true,
      });
      await rejectsWith(keyClient(secret).models.list(), OpenAI.AuthenticationError);
      await rejectsWith(organization().projects.apiKeys.retrieve(keyIds[0] ?? '', params), OpenAI.NotFoundError);
      assert.equal((await all(organization().projects.apiKeys.list(project.id))).length, 2);
      assert.deepEqual(
        await all(organization().projects.apiKeys.list(project.id, { owner_project_access: 'inactive' })),
        [],
      );
    });

    test('models: a project key sees what it may use; modelPermissions filter it; others are NotFoundError', async () => {
      const owner = await organization().projects.create({ name: 'owner' });
      const grantee = await organization().projects.create({ name: 'grantee' });
      const [shared, unshared] = [`${uniqueCheckpoint()}:ckpt-step-88`, uniqueCheckpoint()];
      await registerCheckpoint(api, shared, owner.id);
      await registerCheckpoint(api, unshared, owner.id);
      await admin.fineTuning.checkpoints.permissions.create(shared, { project_ids: [grantee.id] });
      const account = await organization().projects.serviceAccounts.create(grantee.id, { name: 'reader' });
      const reader = keyClient(account.api_key?.value ?? '');

      const models = await all(reader.models.list());
      assert.deepEqual(
        models.map((m) => [m.id, m.object, m.owned_by]),
        [
          [BASE[0], 'model', 'system'],
          [BASE[1], 'model', 'system'],
          [shared, 'model', 'org-default'],
        ],
      );
      for (const model of models) assert.deepEqual(await reader.models.retrieve(model.id), model);
      for (const model of [unshared, 'gpt-4o', uniqueCheckpoint()]) {
        await assert.rejects(reader.models.retrieve(model), (error) => {
          assert.ok(error instanceof OpenAI.NotFoundError, String(error));
          assert.equal(error.code, 'model_not_found');
          assert.equal(
            (error.error as { message: string }).message,
            `The model \`${model}\` does not exist or you do not have access to it.`,
          );
          return true;
        });
      }

      const permissions = organization().projects.modelPermissions;
      assert.deepEqual(await permissions.retrieve(grantee.id), {
        object: 'project.model_permissions',
        mode: 'deny_list',
        model_ids: [],
      });
      assert.deepEqual(await permissions.update(grantee.id, { mode: 'allow_list', model_ids: [shared, unshared] }), {
        object: 'project.model_permissions',
        mode: 'allow_list',
        model_ids: [shared, unshared],
      });
      assert.deepEqual(
        (await all(reader.models.list())).map((m) => m.id),
        [shared],
      );
      await rejectsWith(reader.models.retrieve(BASE[0] as string), OpenAI.NotFoundError, { code: 'model_not_found' });
      await permissions.update(grantee.id, { mode: 'deny_list', model_ids: [shared] });
      assert.deepEqual(
        (await all(reader.models.list())).map((m) => m.id),
        BASE,
      );
      assert.deepEqual(await permissions.delete(grantee.id), {
        object: 'project.model_permissions.deleted',
        deleted: true,
      });
      assert.equal((await all(reader.models.list())).length, 3);
      await rejectsWith(permissions.retrieve(`proj_${randomBase62(24)}`), OpenAI.NotFoundError);
      await rejectsWith(
        permissions.update(grantee.id, { mode: 'block' as 'deny_list', model_ids: [] }),
        OpenAI.BadRequestError,
        { param: 'mode' },
      );
      // A project key may not manage permissions.
      await rejectsWith(
        reader.admin.organization.projects.modelPermissions.retrieve(grantee.id),
        OpenAI.PermissionDeniedError,
      );

      // Its project archived, its key is refused everywhere.
      await organization().projects.archive(grantee.id);
      await rejectsWith(reader.models.list(), OpenAI.AuthenticationError, { code: 'invalid_api_key' });
    });

    test('models: an admin key sees every model of its organization, and deletes checkpoints', async () => {
      const owner = await organization().projects.create({ name: 'owner' });
      const grantee = await organization().projects.create({ name: 'grantee' });
      const checkpoint = uniqueCheckpoint();
      await registerCheckpoint(api, checkpoint, owner.id);
      await admin.fineTuning.checkpoints.permissions.create(checkpoint, { project_ids: [grantee.id] });
      const account = await organization().projects.serviceAccounts.create(grantee.id, { name: 'reader' });
      const reader = keyClient(account.api_key?.value ?? '');
      assert.equal((await reader.models.retrieve(checkpoint)).id, checkpoint);

      const ids = (await all(admin.models.list())).map((m) => m.id);
      assert.deepEqual(ids.slice(0, 2), BASE);
      assert.ok(ids.includes(checkpoint));
      assert.equal((await admin.models.retrieve(BASE[1] as string)).owned_by, 'system');

      await rejectsWith(reader.models.delete(checkpoint), OpenAI.PermissionDeniedError, {
        code: 'insufficient_permissions',
      });
      assert.deepEqual(await admin.models.delete(checkpoint), { id: checkpoint, object: 'model', deleted: true });
      await rejectsWith(reader.models.retrieve(checkpoint), OpenAI.NotFoundError, { code: 'model_not_found' });
      await rejectsWith(admin.models.delete(checkpoint), OpenAI.NotFoundError, { code: 'model_not_found' });
      await rejectsWith(admin.fineTuning.checkpoints.permissions.list(checkpoint), OpenAI.NotFoundError);
      await rejectsWith(admin.models.delete(BASE[1] as string), OpenAI.BadRequestError, {
        code: 'model_not_deletable',
      });
      await rejectsWith(keyClient(newAdminKey()).models.list(), OpenAI.AuthenticationError, {
        code: 'invalid_api_key',
      });
    });

    test('auditLogs.list: a project’s grants, filtered and auto-paged, newest first; project keys refused', async () => {
      const owner = await organization().projects.create({ name: 'audit owner' });
      const projects = [];
      for (let i = 0; i < 3; i++) projects.push(await organization().projects.create({ name: `audited ${i}` }));
      const checkpoint = uniqueCheckpoint();
      await registerCheckpoint(api, checkpoint, owner.id);
      const granted = [];
      for (const project of projects) {
        granted.push(
          ...(await admin.fineTuning.checkpoints.permissions.create(checkpoint, { project_ids: [project.id] })).data,
        );
      }
      await admin.fineTuning.checkpoints.permissions.delete(granted[0]?.id ?? '', {
        fine_tuned_model_checkpoint: checkpoint,
      });

      // The SDK sends arrays as `name[]=…`; limit 1 makes it follow the cursors for every event.
      const events = await all(
        organization().auditLogs.list({
          project_ids: [projects[0]?.id ?? ''],
          event_types: ['checkpoint.permission.created', 'checkpoint.permission.deleted'],
          limit: 1,
        }),
      );
      assert.deepEqual(
        events.map((e) => e.type),
        ['checkpoint.permission.deleted', 'checkpoint.permission.created'],
      );
      const created = events[1] as unknown as Record<string, { id: string; data: Record<string, string> }>;
      assert.deepEqual(created['checkpoint.permission.created'], {
        id: granted[0]?.id,
        data: { project_id: projects[0]?.id, fine_tuned_model_checkpoint: checkpoint },
      });
      assert.equal(events[0]?.project?.id, projects[0]?.id);
      assert.equal(events[0]?.actor?.type, 'api_key');

      // Every grant of the three, by resource id.
      const byResource = await all(organization().auditLogs.list({ resource_ids: granted.map((p) => p.id) }));
      assert.equal(byResource.length, 4);

      const account = await organization().projects.serviceAccounts.create(owner.id, { name: 'audit reader' });
      await rejectsWith(
        keyClient(account.api_key?.value ?? '').admin.organization.auditLogs.list(),
        OpenAI.PermissionDeniedError,
      );
    });

    test('adminAPIKeys: the last active admin key cannot be deleted (BadRequestError)', async () => {
      const keys = await all(organization().adminAPIKeys.list({ limit: 100 }));
      const configured = keys.find((k) => k.name === 'FTSHARE_ADMIN_KEY');
      assert.ok(configured, 'the configured key is listed');
      for (const key of keys) if (key.id !== configured.id) await organization().adminAPIKeys.delete(key.id);
      await rejectsWith(organization().adminAPIKeys.delete(configured.id), OpenAI.BadRequestError, {
        code: 'last_active_admin_key',
      });
      assert.deepEqual(
        (await all(organization().adminAPIKeys.list())).map((k) => k.id),
        [configured.id],
      );
    });
  });
}
