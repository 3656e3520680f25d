import nodeModule from 'node:module';
import { buildProgram } from './cli/program.ts';

// Node ≥ 22.1 keeps the code it compiles between starts (in the OS's temporary directory), which
// takes the compiling of the server's bundle off every start after the first. Absent on Node 20.
(nodeModule as { enableCompileCache?: () => unknown }).enableCompileCache?.();

/** The `ftshare` command. Only this file and the CLI read process state (argv, env). */
try {
  // The server's modules load for `serve` and `emulate` only: the client commands start without them.
  await buildProgram({
    serve: async (config) => (await import('./server.ts')).serve(config),
    emulate: async (config) => (await import('./server.ts')).emulate(config),
  }).parseAsync(process.argv);
} catch (error) {
  process.stderr.write(`ftshare: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
