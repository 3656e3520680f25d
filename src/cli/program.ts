import { Command, Option } from 'commander';
import { type Config, parseConfig, SETTINGS } from '../config.ts';
import { createOrganization } from '../domain/bootstrap.ts';
import { systemClock } from '../ids.ts';
import { openStore, storeOptions } from '../storage/open.ts';

export type CliHandlers = {
  serve: (config: Config) => Promise<void>;
  emulate: (config: Config & { seed?: string }) => Promise<void>;
};

type Setting = (typeof SETTINGS)[number];

const settingOption = (setting: Setting, defaultValue: string | undefined = setting.default) => {
  const option = new Option(setting.flag, setting.help).env(setting.env);
  return defaultValue === undefined ? option : option.default(defaultValue);
};

/** Where the emulator differs from the server: the port generated SDK test suites look for, and memory. */
const EMULATOR_DEFAULTS: Partial<Record<Setting['key'], string>> = { port: '4010', db: ':memory:', logLevel: 'warn' };

/** `ftshare serve` and the operator commands; flags and env vars come from the one SETTINGS table. */
export function buildProgram({ serve, emulate }: CliHandlers): Command {
  const program = new Command('ftshare')
    .description('Self-hostable, OpenAI-compatible sharing of fine-tuned model checkpoints between projects.')
    .showHelpAfterError();

  const serveCommand = program
    .command('serve', { isDefault: true })
    .description('start the HTTP server (the default command)');
  for (const setting of SETTINGS) serveCommand.addOption(settingOption(setting));
  serveCommand.action(async (options: Record<string, unknown>) => serve(parseConfig(options)));

  const emulateCommand = program
    .command('emulate')
    .description(
      'a stateful stand-in for OpenAI’s admin and fine-tuning APIs, for tests: any unknown bearer is an admin, what a request names exists',
    );
  for (const setting of SETTINGS) {
    if (setting.key !== 'adminKey')
      emulateCommand.addOption(settingOption(setting, EMULATOR_DEFAULTS[setting.key] ?? setting.default));
  }
  emulateCommand
    .addOption(new Option('--seed <file>', 'a state to start from (and reset to): JSON or YAML').env('FTSHARE_SEED'))
    .action(async (options: Record<string, unknown>) => {
      const { seed, ...settings } = options;
      await emulate({ ...parseConfig(settings), ...(typeof seed === 'string' ? { seed } : {}) });
    });

  const org = program.command('org').description('manage organizations');
  org
    .command('create')
    .description('create an organization and print its first admin key (shown once)')
    .requiredOption('--name <name>', 'the organization name')
    .addOption(settingOption(SETTINGS.find((s) => s.key === 'db') ?? SETTINGS[2]))
    .action(async (options: { name: string; db: string }) => {
      const config = parseConfig({ ...defaultsOf(), db: options.db });
      const store = await openStore(storeOptions(config));
      try {
        const { orgId, secret } = await createOrganization(store, systemClock, options.name);
        process.stdout.write(`organization: ${orgId}\nadmin key (shown once): ${secret}\n`);
      } finally {
        await store.close();
      }
    });

  return program;
}

const defaultsOf = () => Object.fromEntries(SETTINGS.map((s) => [s.key, s.default]));
