import type { Static } from '@sinclair/typebox';
import type { Command } from 'commander';
import type * as S from '../../http/schemas.ts';
import { all, type Context, clientCommand, printList, run } from '../context.ts';
import { type Column, isoTime, printDetails, printJson } from '../output.ts';

type Checkpoint = Static<typeof S.FineTuningCheckpoint>;
type Deleted = Static<typeof S.DeleteCheckpointResponse>;

export const CHECKPOINTS = '/fine_tuning/checkpoints';

/** The path of one checkpoint: its colons may travel raw or as %3A, the server reads both. */
export const checkpointPath = (name: string) => `${CHECKPOINTS}/${encodeURIComponent(name)}`;

const COLUMNS: Column<Checkpoint>[] = [
  { header: 'checkpoint', value: (c) => c.id },
  { header: 'owner', value: (c) => c.project_id },
  { header: 'created', value: (c) => isoTime(c.created_at) },
];

function showCheckpoint(ctx: Context, checkpoint: Checkpoint): void {
  if (ctx.json) {
    printJson(ctx.out, checkpoint);
    return;
  }
  printDetails(ctx.out, [
    ['checkpoint', checkpoint.id],
    ['owner', checkpoint.project_id],
    ['created', isoTime(checkpoint.created_at)],
  ]);
}

/**
 * `ftshare checkpoints register|list|show|delete`: the checkpoint registry, an ftshare extension
 * (plain fetch: the SDK has no method for it).
 */
export function checkpointCommands(program: Command): void {
  const checkpoints = program
    .command('checkpoints')
    .description('the checkpoint registry: the fine-tuned checkpoints permissions attach to')
    .helpGroup('Checkpoints and access:');

  clientCommand(checkpoints, 'register', 'register a checkpoint owned by a project (again: the same answer)')
    .argument('<checkpoint>', 'the checkpoint, e.g. ft:gpt-4o-mini-2024-07-18:acme:weather:B7R9VjQd')
    .requiredOption('--project <project>', 'the project that owns it (proj_...)')
    .action(
      run<[string], { project: string }>(async (ctx, [name], options) => {
        const body = { fine_tuned_model_checkpoint: name, project_id: options.project };
        showCheckpoint(ctx, await ctx.client.request<Checkpoint>('POST', CHECKPOINTS, { body }));
      }),
    );

  clientCommand(checkpoints, 'list', 'list the registered checkpoints (every page), oldest first')
    .option('--project <project>', 'only those this project owns')
    .action(
      run<[], { project?: string }>(async (ctx, _args, options) => {
        const items = await all(ctx.client.pages<Checkpoint>(CHECKPOINTS, { project_id: options.project }));
        printList(ctx, items, COLUMNS, 'checkpoints');
      }),
    );

  clientCommand(checkpoints, 'show', 'show one registered checkpoint')
    .argument('<checkpoint>', 'the checkpoint')
    .action(
      run<[string]>(async (ctx, [name]) => {
        showCheckpoint(ctx, await ctx.client.request<Checkpoint>('GET', checkpointPath(name)));
      }),
    );

  clientCommand(checkpoints, 'delete', 'unregister a checkpoint and revoke all its permissions')
    .argument('<checkpoint>', 'the checkpoint')
    .action(
      run<[string]>(async (ctx, [name]) => {
        const deleted = await ctx.client.request<Deleted>('DELETE', checkpointPath(name));
        if (ctx.json) printJson(ctx.out, deleted);
        else ctx.out.line(`deleted ${deleted.id}`);
      }),
    );
}
