import { Command, Option, type ParseOptions } from 'commander';
import pkg from '../../package.json' with { type: 'json' };
import { type Config, parseConfig, SETTINGS } from '../config.ts';
import { DEFAULT_BASE_URL } from './client.ts';
import { accessCommands } from './commands/access.ts';
import { auditCommand } from './commands/audit.ts';
import { checkpointCommands } from './commands/checkpoints.ts';
import { keyCommands } from './commands/keys.ts';
import { projectCommands } from './commands/projects.ts';
import { stateCommands } from './commands/state.ts';
import { EXIT, exitCodeOf } from './exit.ts';

export type CliHandlers = {
  serve: (config: Config) => Promise<void>;
  emulate: (config: Config & { seed?: string }) => Promise<void>;
};

type Setting = (typeof SETTINGS)[number];

const settingOption = (setting: Setting, defaultValue: string | undefined = setting.default) => {
  const option = new Option(setting.flag, setting.help).env(setting.env);
  if ('choices' in setting) option.choices(setting.choices);
  return defaultValue === undefined ? option : option.default(defaultValue);
};

/** Where the emulator differs from the server: the port generated SDK test suites look for, and memory. */
const EMULATOR_DEFAULTS: Partial<Record<Setting['key'], string>> = { port: '4010', db: ':memory:', logLevel: 'warn' };

/**
 * `ftshare` with no arguments is `ftshare serve` (what a bare start of the package has always
 * done). With any argument the first one must be a command, so a typo is reported as an unknown
 * command with the nearest one suggested, not handed to `serve` as "too many arguments".
 */
class Program extends Command {
  override parseAsync(argv?: readonly string[], options?: ParseOptions): Promise<this> {
    const given = argv ?? process.argv;
    const userArgs = options?.from === 'user' ? given : given.slice(2);
    return super.parseAsync(userArgs.length === 0 ? [...given, 'serve'] : given, options);
  }
}

/** Settings as a Config, or a usage error (exit 2) naming each bad one. */
function configOf(command: Command, settings: Record<string, unknown>): Config {
  try {
    return parseConfig(settings);
  } catch (error) {
    return command.error(error instanceof Error ? error.message : String(error), {
      exitCode: EXIT.usage,
      code: 'ftshare.invalidConfig',
    });
  }
}

/**
 * The `ftshare` command. `serve`, `emulate` and `org create` work on the process and the store;
 * every other command is a client of a running server (src/cli/commands/), flags and env vars of
 * the server from the one SETTINGS table. Exit codes: src/cli/exit.ts.
 */
export function buildProgram({ serve, emulate }: CliHandlers): Command {
  const program = new Program('ftshare')
    .description('Self-hostable, OpenAI-compatible sharing of fine-tuned model checkpoints between projects.')
    .version(pkg.version)
    .showHelpAfterError('(add --help for usage)')
    // Usage errors exit 2, help and version 0. Set before any subcommand is added: they inherit it.
    .exitOverride((error) => process.exit(exitCodeOf(error)));

  const serveCommand = program
    .command('serve')
    .description('start the HTTP server (what `ftshare` alone does)')
    .helpGroup('Server:');
  for (const setting of SETTINGS) serveCommand.addOption(settingOption(setting));
  serveCommand.action(async (options: Record<string, unknown>) => serve(configOf(serveCommand, options)));

  const emulateCommand = program
    .command('emulate')
    .description(
      'a stateful stand-in for OpenAI’s admin and fine-tuning APIs, for tests: any unknown bearer is an admin, what a request names exists',
    )
    .helpGroup('Server:');
  for (const setting of SETTINGS) {
    if (setting.key !== 'adminKey')
      emulateCommand.addOption(settingOption(setting, EMULATOR_DEFAULTS[setting.key] ?? setting.default));
  }
  emulateCommand
    .addOption(new Option('--seed <file>', 'a state to start from (and reset to): JSON or YAML').env('FTSHARE_SEED'))
    .action(async (options: Record<string, unknown>) => {
      const { seed, ...settings } = options;
      await emulate({ ...configOf(emulateCommand, settings), ...(typeof seed === 'string' ? { seed } : {}) });
    });

  const org = program.command('org').description('manage organizations (on the store itself)').helpGroup('Server:');
  org
    .command('create')
    .description('create an organization and print its first admin key (shown once)')
    .requiredOption('--name <name>', 'the organization name')
    .addOption(settingOption(SETTINGS.find((s) => s.key === 'db') ?? SETTINGS[2]))
    .action(async (options: { name: string; db: string }) => {
      // Loaded here, not at start: the client commands never open a store.
      const [{ createOrganization }, { systemClock }, { openStore, storeOptions }] = await Promise.all([
        import('../domain/bootstrap.ts'),
        import('../ids.ts'),
        import('../storage/open.ts'),
      ]);
      const config = parseConfig({ ...defaultsOf(), db: options.db });
      const store = await openStore(storeOptions(config));
      try {
        const { orgId, secret } = await createOrganization(store, systemClock, options.name);
        process.stdout.write(`organization: ${orgId}\nadmin key (shown once): ${secret}\n`);
      } finally {
        await store.close();
      }
    });

  program.addHelpText(
    'after',
    `
Client commands (all but serve, emulate and org) talk to a running server:
  FTSHARE_BASE_URL   the server, up to /v1 (--base-url; default ${DEFAULT_BASE_URL})
  FTSHARE_ADMIN_KEY  an admin key of the organization (--admin-key)
  NO_COLOR           no colours even on a terminal (there are none off one)

Exit codes: 0 ok, ${EXIT.server} the server answered with an error, ${EXIT.usage} usage, ${EXIT.unreachable} cannot reach the server,
${EXIT.notFound} not found, ${EXIT.denied} \`check\`: a model is not allowed.`,
  );

  projectCommands(program);
  keyCommands(program);
  checkpointCommands(program);
  accessCommands(program);
  auditCommand(program);
  stateCommands(program);

  return program;
}

const defaultsOf = () => Object.fromEntries(SETTINGS.map((s) => [s.key, s.default]));
