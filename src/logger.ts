import pino, { type Logger } from 'pino';
import { LOG_REDACTION } from './redact.ts';

/**
 * The server's log stream: JSON lines on stdout, for whatever collects them; on a terminal the
 * same lines made readable by pino-pretty (loaded only then). Keys must never reach a log line,
 * whatever a future log statement includes: the redaction (redact.ts) is the backstop.
 */
export async function createLogger(level: string, { pretty }: { pretty: boolean }): Promise<Logger> {
  // Known key fields censored, and any key-shaped text left in a line redacted as it is written.
  const options = { level, ...LOG_REDACTION };
  if (!pretty) return pino(options);
  const { default: prettyStream } = await import('pino-pretty');
  // Synchronous, as pino's own stdout destination is: a line is out before the process exits.
  return pino(options, prettyStream({ destination: 1, sync: true }));
}
