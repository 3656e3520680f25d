import type { Static } from '@sinclair/typebox';
import type { Command } from 'commander';
import type * as S from '../../http/schemas.ts';
import { all, type Context, clientCommand, printList, run } from '../context.ts';
import { type Column, isoTime, printDetails, printJson } from '../output.ts';

type Project = Static<typeof S.Project>;

export const PROJECT_COLUMNS: Column<Project>[] = [
  { header: 'id', value: (p) => p.id },
  { header: 'name', value: (p) => p.name },
  { header: 'status', value: (p) => p.status, style: (p) => (p.status === 'archived' ? 'yellow' : undefined) },
  { header: 'created', value: (p) => isoTime(p.created_at) },
  { header: 'archived', value: (p) => isoTime(p.archived_at) },
];

function showProject(ctx: Context, project: Project): void {
  if (ctx.json) {
    printJson(ctx.out, project);
    return;
  }
  printDetails(ctx.out, [
    ['id', project.id],
    ['name', project.name],
    ['status', project.status],
    ['created', isoTime(project.created_at)],
    ['archived', isoTime(project.archived_at)],
    ['external_key_id', project.external_key_id],
  ]);
}

/** `ftshare projects create|list|show|archive`, through the SDK's projects API. */
export function projectCommands(program: Command): void {
  const projects = program
    .command('projects')
    .description('create, list, show and archive projects')
    .helpGroup('Organization:');

  clientCommand(projects, 'create', 'create a project')
    .argument('<name>', 'the project name')
    .option('--external-key-id <id>', 'an external key id to record on the project')
    .action(
      run<[string], { externalKeyId?: string }>(async (ctx, [name], options) => {
        const sdk = await ctx.client.sdk();
        const body = {
          name,
          ...(options.externalKeyId === undefined ? {} : { external_key_id: options.externalKeyId }),
        };
        showProject(ctx, (await sdk.admin.organization.projects.create(body)) as unknown as Project);
      }),
    );

  clientCommand(projects, 'list', 'list the active projects (every page), oldest first')
    .option('-a, --include-archived', 'archived projects too')
    .action(
      run<[], { includeArchived?: boolean }>(async (ctx, _args, options) => {
        const sdk = await ctx.client.sdk();
        const list = sdk.admin.organization.projects.list({
          limit: 100,
          include_archived: options.includeArchived === true,
        });
        printList(ctx, (await all(list)) as unknown as Project[], PROJECT_COLUMNS, 'projects');
      }),
    );

  clientCommand(projects, 'show', 'show one project')
    .argument('<project>', 'the project id (proj_...)')
    .action(
      run<[string]>(async (ctx, [id]) => {
        const sdk = await ctx.client.sdk();
        showProject(ctx, (await sdk.admin.organization.projects.retrieve(id)) as unknown as Project);
      }),
    );

  clientCommand(projects, 'archive', 'archive a project: it keeps its grants, gets no new ones, and may use nothing')
    .argument('<project>', 'the project id (proj_...)')
    .action(
      run<[string]>(async (ctx, [id]) => {
        const sdk = await ctx.client.sdk();
        showProject(ctx, (await sdk.admin.organization.projects.archive(id)) as unknown as Project);
      }),
    );
}
