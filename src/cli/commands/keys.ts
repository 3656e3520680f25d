import type { Static } from '@sinclair/typebox';
import type { Command } from 'commander';
import type * as K from '../../http/schemas-keys.ts';
import { all, type Context, clientCommand, printList, run } from '../context.ts';
import { type Column, isoTime, printDetails, printJson } from '../output.ts';
import { positiveInt } from '../parse.ts';

type AdminKey = Static<typeof K.AdminApiKey>;
type NewAdminKey = Static<typeof K.AdminApiKeyCreateResponse>;
type ServiceAccount = Static<typeof K.ProjectServiceAccount>;
type NewServiceAccount = Static<typeof K.ProjectServiceAccountCreateResponse>;
type NewProjectKey = Static<typeof K.ServiceAccountApiKeyResponse>;
type ProjectKey = Static<typeof K.ProjectApiKey>;
type Deleted = { id: string; deleted: boolean };

/** OpenAI's bound, as the server checks it. */
const expiresIn = () => positiveInt(31_536_000);
const EXPIRES_HELP = 'seconds until the key stops working (at most a year; default: never)';

/** A secret is printed once, on stdout with the data; the note saying so goes to stderr. */
function secretNote(ctx: Context): void {
  if (!ctx.json)
    ctx.err.line(ctx.err.paint('yellow', 'The key is shown this once and stored only as a hash: keep it now.'));
}

function printDeleted(ctx: Context, deleted: Deleted): void {
  if (ctx.json) printJson(ctx.out, deleted);
  else ctx.out.line(`deleted ${deleted.id}`);
}

const ADMIN_KEY_COLUMNS: Column<AdminKey>[] = [
  { header: 'id', value: (k) => k.id },
  { header: 'name', value: (k) => k.name },
  { header: 'key', value: (k) => k.redacted_value },
  { header: 'created', value: (k) => isoTime(k.created_at) },
  { header: 'expires', value: (k) => isoTime(k.expires_at) },
  { header: 'last_used', value: (k) => isoTime(k.last_used_at) },
];

const SERVICE_ACCOUNT_COLUMNS: Column<ServiceAccount>[] = [
  { header: 'id', value: (a) => a.id },
  { header: 'name', value: (a) => a.name },
  { header: 'role', value: (a) => a.role },
  { header: 'created', value: (a) => isoTime(a.created_at) },
];

const PROJECT_KEY_COLUMNS: Column<ProjectKey>[] = [
  { header: 'id', value: (k) => k.id },
  { header: 'name', value: (k) => k.name },
  { header: 'key', value: (k) => k.redacted_value },
  { header: 'service_account', value: (k) => k.owner.service_account.id },
  { header: 'created', value: (k) => isoTime(k.created_at) },
  { header: 'expires', value: (k) => isoTime(k.expires_at) },
  { header: 'last_used', value: (k) => isoTime(k.last_used_at) },
];

/** `ftshare admin-keys create|list|delete`. */
function adminKeyCommands(program: Command): void {
  const keys = program.command('admin-keys').description('admin API keys of the organization').helpGroup('Keys:');

  clientCommand(keys, 'create', 'create an admin key; its secret is printed this once')
    .argument('<name>', 'a name for the key')
    .option('--expires-in <seconds>', EXPIRES_HELP, expiresIn())
    .action(
      run<[string], { expiresIn?: number }>(async (ctx, [name], options) => {
        const sdk = await ctx.client.sdk();
        const body = { name, ...(options.expiresIn === undefined ? {} : { expires_in_seconds: options.expiresIn }) };
        const key = (await sdk.admin.organization.adminAPIKeys.create(body)) as unknown as NewAdminKey;
        if (ctx.json) return printJson(ctx.out, key);
        printDetails(ctx.out, [
          ['id', key.id],
          ['name', key.name],
          ['created', isoTime(key.created_at)],
          ['expires', isoTime(key.expires_at)],
          ['key', key.value],
        ]);
        secretNote(ctx);
      }),
    );

  clientCommand(keys, 'list', 'list the admin keys (redacted), oldest first').action(
    run<[]>(async (ctx) => {
      const sdk = await ctx.client.sdk();
      const list = sdk.admin.organization.adminAPIKeys.list({ limit: 100, order: 'asc' });
      printList(ctx, (await all(list)) as unknown as AdminKey[], ADMIN_KEY_COLUMNS, 'admin keys');
    }),
  );

  clientCommand(keys, 'delete', 'delete an admin key (the last active one cannot be deleted)')
    .argument('<key>', 'the key id (key_...)')
    .action(
      run<[string]>(async (ctx, [id]) => {
        const sdk = await ctx.client.sdk();
        printDeleted(ctx, await sdk.admin.organization.adminAPIKeys.delete(id));
      }),
    );
}

/** `ftshare service-accounts create|list|delete|create-key`: how a project gets API keys. */
function serviceAccountCommands(program: Command): void {
  const accounts = program
    .command('service-accounts')
    .description("a project's service accounts and their API keys")
    .helpGroup('Keys:');

  clientCommand(accounts, 'create', 'create a service account, with a project API key printed this once')
    .argument('<project>', 'the project id (proj_...)')
    .argument('<name>', 'a name for the service account')
    .option('--no-key', 'create the account only, without a key')
    .option('--expires-in <seconds>', EXPIRES_HELP, expiresIn())
    .action(
      run<[string, string], { key: boolean; expiresIn?: number }>(async (ctx, [project, name], options) => {
        const sdk = await ctx.client.sdk();
        const body = {
          name,
          create_service_account_only: !options.key,
          ...(options.expiresIn === undefined ? {} : { expires_in_seconds: options.expiresIn }),
        };
        const account = (await sdk.admin.organization.projects.serviceAccounts.create(
          project,
          body,
        )) as unknown as NewServiceAccount;
        if (ctx.json) return printJson(ctx.out, account);
        printDetails(ctx.out, [
          ['id', account.id],
          ['name', account.name],
          ['role', account.role],
          ['created', isoTime(account.created_at)],
          ...(account.api_key
            ? ([
                ['key_id', account.api_key.id],
                ['key', account.api_key.value],
              ] as const)
            : []),
        ]);
        if (account.api_key) secretNote(ctx);
      }),
    );

  clientCommand(accounts, 'list', "list a project's service accounts, oldest first")
    .argument('<project>', 'the project id (proj_...)')
    .action(
      run<[string]>(async (ctx, [project]) => {
        const sdk = await ctx.client.sdk();
        const list = sdk.admin.organization.projects.serviceAccounts.list(project, { limit: 100 });
        printList(ctx, (await all(list)) as unknown as ServiceAccount[], SERVICE_ACCOUNT_COLUMNS, 'service accounts');
      }),
    );

  clientCommand(accounts, 'delete', 'delete a service account and every key of it')
    .argument('<project>', 'the project id (proj_...)')
    .argument('<service-account>', 'the service account id')
    .action(
      run<[string, string]>(async (ctx, [project, id]) => {
        const sdk = await ctx.client.sdk();
        printDeleted(ctx, await sdk.admin.organization.projects.serviceAccounts.delete(id, { project_id: project }));
      }),
    );

  clientCommand(accounts, 'create-key', 'another API key for a service account, printed this once')
    .argument('<project>', 'the project id (proj_...)')
    .argument('<service-account>', 'the service account id')
    .option('--name <name>', 'a name for the key', 'Secret Key')
    .option('--expires-in <seconds>', EXPIRES_HELP, expiresIn())
    .action(
      run<[string, string], { name: string; expiresIn?: number }>(async (ctx, [project, account], options) => {
        const sdk = await ctx.client.sdk();
        const params = {
          project_id: project,
          name: options.name,
          ...(options.expiresIn === undefined ? {} : { expires_in_seconds: options.expiresIn }),
        };
        const key = (await sdk.admin.organization.projects.serviceAccounts.apiKeys.create(
          account,
          params,
        )) as unknown as NewProjectKey;
        if (ctx.json) return printJson(ctx.out, key);
        printDetails(ctx.out, [
          ['id', key.id],
          ['name', key.name],
          ['created', isoTime(key.created_at)],
          ['key', key.value],
        ]);
        secretNote(ctx);
      }),
    );
}

/** `ftshare project-keys list|delete`: a project's API keys, redacted. */
function projectKeyCommands(program: Command): void {
  const keys = program.command('project-keys').description("a project's API keys (redacted)").helpGroup('Keys:');

  clientCommand(keys, 'list', "list a project's API keys, oldest first")
    .argument('<project>', 'the project id (proj_...)')
    .action(
      run<[string]>(async (ctx, [project]) => {
        const sdk = await ctx.client.sdk();
        const list = sdk.admin.organization.projects.apiKeys.list(project, { limit: 100 });
        printList(ctx, (await all(list)) as unknown as ProjectKey[], PROJECT_KEY_COLUMNS, 'API keys');
      }),
    );

  clientCommand(keys, 'delete', 'delete a project API key: it stops working from the next request')
    .argument('<project>', 'the project id (proj_...)')
    .argument('<key>', 'the key id')
    .action(
      run<[string, string]>(async (ctx, [project, id]) => {
        const sdk = await ctx.client.sdk();
        printDeleted(ctx, await sdk.admin.organization.projects.apiKeys.delete(id, { project_id: project }));
      }),
    );
}

export function keyCommands(program: Command): void {
  adminKeyCommands(program);
  serviceAccountCommands(program);
  projectKeyCommands(program);
}
