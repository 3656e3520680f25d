import { Command, Option } from 'commander';
import { type Config, parseConfig, SETTINGS } from '../config.ts';
import { createOrganization } from '../domain/bootstrap.ts';
import { systemClock } from '../ids.ts';
import { openStore, storeOptions } from '../storage/open.ts';

export type CliHandlers = { serve: (config: Config) => Promise<void> };

const settingOption = (setting: (typeof SETTINGS)[number]) => {
  const option = new Option(setting.flag, setting.help).env(setting.env);
  return setting.default === undefined ? option : option.default(setting.default);
};

/** `ftshare serve` and the operator commands; flags and env vars come from the one SETTINGS table. */
export function buildProgram({ serve }: CliHandlers): Command {
  const program = new Command('ftshare')
    .description('Self-hostable, OpenAI-compatible sharing of fine-tuned model checkpoints between projects.')
    .showHelpAfterError();

  const serveCommand = program
    .command('serve', { isDefault: true })
    .description('start the HTTP server (the default command)');
  for (const setting of SETTINGS) serveCommand.addOption(settingOption(setting));
  serveCommand.action(async (options: Record<string, unknown>) => serve(parseConfig(options)));

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
