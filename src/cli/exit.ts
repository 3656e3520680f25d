import type { CommanderError } from 'commander';

/**
 * The CLI's exit codes, documented in the README ("CLI"): scripts branch on them, so each one means
 * one thing and never changes meaning.
 */
export const EXIT = {
  ok: 0,
  /** The server answered with an error (400, 401, 403, 409, 413, 429, 5xx): its message is on stderr. */
  server: 1,
  /** The command line is wrong: unknown command or flag, bad flag value, missing argument or key. */
  usage: 2,
  /** No answer from the server: refused, reset, timed out, DNS failure. */
  unreachable: 3,
  /** The server answered 404, or the thing named does not exist (e.g. no permission for that project). */
  notFound: 4,
  /** `ftshare check`: the server answered, and at least one model is not allowed. */
  denied: 5,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** A failure the CLI reports with one message on stderr and one exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export const usageError = (message: string) => new CliError(message, EXIT.usage);

/**
 * Commander's own failures (unknown command or option, bad value, missing argument) are usage
 * errors, exit 2; its help and version output are successes. Errors raised through `command.error()`
 * with an exit code of ours keep it.
 */
export function exitCodeOf(error: CommanderError): number {
  if (error.exitCode === 0) return EXIT.ok;
  return error.code.startsWith('commander.') ? EXIT.usage : error.exitCode;
}
