import { buildProgram } from './cli/program.ts';
import { emulate, serve } from './server.ts';

/** The `ftshare` command. Only this file and the CLI read process state (argv, env). */
try {
  await buildProgram({ serve, emulate }).parseAsync(process.argv);
} catch (error) {
  process.stderr.write(`ftshare: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
