import pino, { type Logger } from 'pino';

/**
 * The server's log stream: JSON lines on stdout, for whatever collects them; on a terminal the
 * same lines made readable by pino-pretty (loaded only then). Keys must never reach a log line,
 * whatever a future log statement includes: the redaction below is the backstop.
 */
export async function createLogger(level: string, { pretty }: { pretty: boolean }): Promise<Logger> {
  const options = {
    level,
    redact: { paths: ['req.headers.authorization', '*.authorization', '*.adminKey'], censor: '[redacted]' },
  };
  if (!pretty) return pino(options);
  const { default: prettyStream } = await import('pino-pretty');
  // Synchronous, as pino's own stdout destination is: a line is out before the process exits.
  return pino(options, prettyStream({ destination: 1, sync: true }));
}
