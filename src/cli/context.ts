import { type Command, Option } from 'commander';
import { Client, DEFAULT_BASE_URL, toCliError } from './client.ts';
import { type Column, Printer, printJson, printTable } from './output.ts';

/**
 * What every client command shares: its connection flags, its output, and one way to fail. A
 * command's handler gets a Context and either prints its data or throws; the runner turns any
 * throw into one line on stderr and the matching exit code.
 */

export type ClientFlags = { baseUrl: string; adminKey?: string; json?: boolean };

export type Context = {
  client: Client;
  /** stdout: the data. */
  out: Printer;
  /** stderr: progress, notes, errors. */
  err: Printer;
  json: boolean;
};

const CONNECTION = 'Connection options:';

/**
 * A subcommand that talks to a running server. The connection flags sit on every such command
 * (not on the program), so they can follow the command as people type them, and so they cannot
 * collide with `serve`'s own `--admin-key`.
 */
export function clientCommand(parent: Command, name: string, description: string): Command {
  return parent
    .command(name)
    .description(description)
    .option('--json', 'print JSON for scripts (the API objects; lists as one array of every item)')
    .addOption(
      new Option('--base-url <url>', 'the server, up to and including /v1')
        .env('FTSHARE_BASE_URL')
        .default(DEFAULT_BASE_URL)
        .helpGroup(CONNECTION),
    )
    .addOption(
      new Option('--admin-key <key>', 'an sk-admin-... key of the organization (prefer the env var: flags show in ps)')
        .env('FTSHARE_ADMIN_KEY')
        .helpGroup(CONNECTION),
    );
}

/**
 * A commander action for a client command: builds the Context from its flags, runs the handler
 * with the command's parsed arguments, and reports a failure as `ftshare: <message>` on stderr
 * with its exit code (the README's table). Returns normally, so pending output is flushed.
 */
export function run<Args extends unknown[], Options extends object = object>(
  handler: (ctx: Context, args: Args, options: Options & ClientFlags) => Promise<unknown>,
) {
  return async (...params: unknown[]): Promise<void> => {
    quietOnClosedPipe();
    const command = params.at(-1) as Command;
    const options = command.opts<Options & ClientFlags>();
    const out = new Printer(process.stdout, process.env);
    const err = new Printer(process.stderr, process.env);
    let baseURL: string | undefined;
    try {
      const client = new Client(options.baseUrl, options.adminKey);
      baseURL = client.baseURL;
      const code = await handler(
        { client, out, err, json: options.json === true },
        command.processedArgs as Args,
        options,
      );
      if (typeof code === 'number') process.exitCode = code;
    } catch (error) {
      const failure = await toCliError(error, baseURL);
      err.line(`${err.paint('red', 'ftshare:')} ${failure.message}`);
      process.exitCode = failure.exitCode;
    }
  };
}

/**
 * `ftshare audit --format csv | head` closes stdout early: that is the reader's choice, not a
 * failure, so it ends the command quietly instead of with a stack trace.
 */
let quiet = false;
function quietOnClosedPipe(): void {
  if (quiet) return;
  quiet = true;
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    process.exit(process.exitCode ?? 0);
  });
}

/** A list: every item as JSON, or a table (and a note on stderr when there is nothing to show). */
export function printList<T>(ctx: Context, items: readonly T[], columns: readonly Column<T>[], noun: string): void {
  if (ctx.json) printJson(ctx.out, items);
  else if (items.length === 0) ctx.err.line(`no ${noun}`);
  else printTable(ctx.out, items, columns);
}

/** Collects an async iterable (an SDK auto-paging list, Client.pages) into an array. */
export async function all<T>(items: AsyncIterable<T>): Promise<T[]> {
  const collected: T[] = [];
  for await (const item of items) collected.push(item);
  return collected;
}
