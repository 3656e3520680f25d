import type { Static } from '@sinclair/typebox';
import { type Command, Option } from 'commander';
import type * as S from '../../http/schemas.ts';
import type * as M from '../../http/schemas-models.ts';
import type { Client } from '../client.ts';
import { all, type Context, clientCommand, printList, run } from '../context.ts';
import { CliError, EXIT } from '../exit.ts';
import { type Column, isoTime, printJson } from '../output.ts';
import { collect } from '../parse.ts';

type Permission = Static<typeof S.FineTuningCheckpointPermission>;
type ModelAccess = Static<typeof M.ModelAccess>;
type Model = Static<typeof M.Model>;

const PERMISSION_COLUMNS: Column<Permission>[] = [
  { header: 'id', value: (p) => p.id },
  { header: 'project', value: (p) => p.project_id },
  { header: 'created', value: (p) => isoTime(p.created_at) },
];

const allowedColumn: Column<ModelAccess> = {
  header: 'allowed',
  value: (a) => (a.allowed ? 'yes' : 'no'),
  style: (a) => (a.allowed ? 'green' : 'red'),
};

/** The server's bound on checks per model_access request. */
const CHECKS_PER_REQUEST = 1000;

/** `POST /v1/organization/model_access` (an extension), in request-sized batches, answers in order. */
export async function checkAccess(client: Client, projectId: string, models: readonly string[]) {
  const answers: ModelAccess[] = [];
  for (let i = 0; i < models.length; i += CHECKS_PER_REQUEST) {
    const checks = models.slice(i, i + CHECKS_PER_REQUEST).map((model) => ({ project_id: projectId, model }));
    const page = await client.request<{ data: ModelAccess[] }>('POST', '/organization/model_access', {
      body: { checks },
    });
    answers.push(...page.data);
  }
  return answers;
}

/** `ftshare grant|revoke|permissions|models|check`: who may use which checkpoint, and why. */
export function accessCommands(program: Command): void {
  const GROUP = 'Checkpoints and access:';

  clientCommand(program, 'grant', 'share a checkpoint with projects (all or nothing; granting again is a no-op)')
    .helpGroup(GROUP)
    .argument('<checkpoint>', 'a registered checkpoint')
    .argument('<project...>', 'project ids (proj_...), at most 100')
    .action(
      run<[string, string[]]>(async (ctx, [checkpoint, projects]) => {
        const sdk = await ctx.client.sdk();
        const page = await sdk.fineTuning.checkpoints.permissions.create(checkpoint, { project_ids: projects });
        printList(ctx, page.data as Permission[], PERMISSION_COLUMNS, 'permissions');
      }),
    );

  clientCommand(program, 'revoke', "take a checkpoint's permissions away, by permission id or by project")
    .helpGroup(GROUP)
    .argument('<checkpoint>', 'the checkpoint')
    .argument('[permission...]', 'permission ids (cp_...)')
    .option('-p, --project <project>', "revoke this project's permission (repeatable)", collect)
    .action(
      run<[string, string[]], { project?: string[] }>(async (ctx, [checkpoint, ids], options) => {
        const projects = options.project ?? [];
        if (ids.length === 0 && projects.length === 0) {
          throw new CliError('name a permission id or a project (--project) to revoke', EXIT.usage);
        }
        const permissions = (await ctx.client.sdk()).fineTuning.checkpoints.permissions;
        // Every project resolved before anything is revoked: a typo revokes nothing.
        const targets = ids.map((id) => ({ id, projectId: null as string | null }));
        for (const projectId of projects) {
          const page = await permissions.list(checkpoint, { project_id: projectId, limit: 1 });
          const found = page.data[0];
          if (!found) {
            throw new CliError(`project ${projectId} has no permission on ${checkpoint}`, EXIT.notFound);
          }
          targets.push({ id: found.id, projectId });
        }
        const revoked = [];
        for (const target of targets) {
          revoked.push(await permissions.delete(target.id, { fine_tuned_model_checkpoint: checkpoint }));
          if (!ctx.json) ctx.out.line(`revoked ${target.id}${target.projectId ? ` (${target.projectId})` : ''}`);
        }
        if (ctx.json) printJson(ctx.out, revoked);
      }),
    );

  clientCommand(program, 'permissions', "list a checkpoint's permissions (every page)")
    .helpGroup(GROUP)
    .argument('<checkpoint>', 'the checkpoint')
    .option('-p, --project <project>', "only this project's permission")
    .addOption(
      new Option('--order <order>', 'by creation time').choices(['ascending', 'descending']).default('ascending'),
    )
    .action(
      run<[string], { project?: string; order: 'ascending' | 'descending' }>(async (ctx, [checkpoint], options) => {
        const sdk = await ctx.client.sdk();
        const list = sdk.fineTuning.checkpoints.permissions.list(checkpoint, {
          limit: 100,
          order: options.order,
          ...(options.project === undefined ? {} : { project_id: options.project }),
        });
        printList(ctx, (await all(list)) as Permission[], PERMISSION_COLUMNS, 'permissions');
      }),
    );

  clientCommand(program, 'models', 'every model of the organization: may this project use it, and why')
    .helpGroup(GROUP)
    .requiredOption('-p, --project <project>', 'the project (proj_...)')
    .option('--allowed', 'only the models the project may use')
    .action(
      run<[], { project: string; allowed?: boolean }>(async (ctx, _args, options) => {
        const sdk = await ctx.client.sdk();
        // An unknown project is a 404 here (exit 4), not a table of `project_not_found` answers.
        await sdk.admin.organization.projects.retrieve(options.project);
        const models = (await all(sdk.models.list())) as Model[];
        const owners = new Map(models.map((m) => [m.id, m.owned_by]));
        let answers = await checkAccess(
          ctx.client,
          options.project,
          models.map((m) => m.id),
        );
        if (options.allowed) answers = answers.filter((a) => a.allowed);
        printList(
          ctx,
          answers,
          [
            { header: 'model', value: (a) => a.model },
            { header: 'owned_by', value: (a) => owners.get(a.model) },
            allowedColumn,
            { header: 'reason', value: (a) => a.reason },
          ],
          'models',
        );
      }),
    );

  clientCommand(
    program,
    'check',
    `may a project use these models? exit 0 if every one is allowed, ${EXIT.denied} if not`,
  )
    .helpGroup(GROUP)
    .argument('<project>', 'the project (proj_...)')
    .argument('<model...>', 'model ids: checkpoints or base models')
    .action(
      run<[string, string[]]>(async (ctx: Context, [project, models]) => {
        const answers = await checkAccess(ctx.client, project, models);
        printList(
          ctx,
          answers,
          [{ header: 'model', value: (a) => a.model }, allowedColumn, { header: 'reason', value: (a) => a.reason }],
          'models',
        );
        return answers.every((a) => a.allowed) ? EXIT.ok : EXIT.denied;
      }),
    );
}
