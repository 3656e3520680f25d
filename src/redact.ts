import type { LoggerOptions } from 'pino';

/**
 * One redaction for everything ftshare writes that a person or a log pipeline reads: log lines and
 * error messages. Clients misplace keys — in a URL path (`GET /v1/models/sk-admin-…`), a query
 * string (`?api_key=sk-proj-…`), a body field — and whatever echoes a URL or a value back would
 * echo the key with it. So the text itself is scrubbed, whatever field or message carries it:
 *
 * - anything shaped like an OpenAI or ftshare secret (`sk-` and at least 8 key characters, not in
 *   the middle of a word) keeps at most its first 6 and last 4 characters (CONTRACT §2), fewer when
 *   it is short;
 * - a bearer credential (`Bearer <token>`, 16 or more token characters) loses its token, whatever its shape;
 * - 64 hex digits (a SHA-256, the shape of a stored key hash) are dropped.
 *
 * Idempotent: a redacted form never matches again.
 */

const SECRET = /(?<![A-Za-z0-9_-])sk-[A-Za-z0-9_-]{8,}/g;
// A credential's worth of token characters: not the `Bearer auth` or `Bearer YOUR_KEY` of a message.
const BEARER = /\b(Bearer\s+)[A-Za-z0-9._~+/=-]{16,}/gi;
const HASH = /(?<![0-9A-Fa-f])[0-9A-Fa-f]{64}(?![0-9A-Fa-f])/g;

/** Quick rejection: most text holds none of the three shapes. */
const MAYBE = /sk-|bearer|[0-9A-Fa-f]{64}/i;

const maskSecret = (secret: string) =>
  secret.length >= 24 ? `${secret.slice(0, 6)}****${secret.slice(-4)}` : `${secret.slice(0, 3)}****`;

export function redactSecrets(text: string): string {
  if (!MAYBE.test(text)) return text;
  return text.replace(SECRET, maskSecret).replace(BEARER, '$1[redacted]').replace(HASH, '[redacted]');
}

/**
 * pino options every ftshare logger is built with: the `authorization` header is censored by
 * path, and every finished line passes through `redactSecrets` on its way to the stream, so no
 * future log statement — an error with a URL in its message, a serialized request — can carry a
 * key out, at any level.
 */
export const LOG_REDACTION: Pick<LoggerOptions, 'redact' | 'hooks'> = {
  redact: { paths: ['req.headers.authorization', '*.authorization', '*.adminKey'], censor: '[redacted]' },
  hooks: { streamWrite: redactSecrets },
};
