/**
 * Query strings, read strictly. Fastify's default parser keeps text it cannot decode (`%ZZ`,
 * `%C3%28`) as it came, so a malformed value would travel on as if the client had meant it; this
 * one decodes every key and value as percent-encoded UTF-8 (`+` is a space) and marks the query
 * when any of them is not, for the request guards to refuse (400). The router calls it and must
 * never see it throw.
 */

/** Present on a parsed query when some part of it was not validly percent-encoded UTF-8: that part, raw. */
export const MALFORMED = Symbol('ftshare.malformedQuery');

export type ParsedQuery = { [key: string]: string | string[] } & { [MALFORMED]?: string };

export function parseQueryString(text: string): ParsedQuery {
  // No prototype: `__proto__` or `constructor` in a query is a key like any other.
  const query: ParsedQuery = Object.create(null);
  if (text.length === 0) return query;
  for (const part of text.split('&')) {
    if (part.length === 0) continue;
    const eq = part.indexOf('=');
    const key = decode(eq === -1 ? part : part.slice(0, eq));
    const value = decode(eq === -1 ? '' : part.slice(eq + 1));
    if (key === undefined || value === undefined) {
      query[MALFORMED] ??= part;
      continue;
    }
    const existing = query[key];
    if (existing === undefined) query[key] = value;
    else if (Array.isArray(existing)) existing.push(value);
    else query[key] = [existing, value];
  }
  return query;
}

function decode(text: string): string | undefined {
  const spaced = text.includes('+') ? text.replaceAll('+', ' ') : text;
  if (!spaced.includes('%')) return spaced;
  try {
    return decodeURIComponent(spaced);
  } catch {
    return undefined;
  }
}

/**
 * Integers in a query string are plain decimal digits, optionally after a minus sign: `10`, `010`,
 * `-1`. Everything else that JavaScript or ajv would read as a number — `1e3`, `0x10`, `+5`, `1.0`,
 * ` 5`, `Infinity`, `NaN` — is not an integer here, and neither is one of more than 15 digits
 * (past 2^53 a number cannot be told from its neighbours). Both answer 400 naming the parameter,
 * never a coerced guess.
 */
export function isPlainInteger(text: string): boolean {
  return /^-?\d{1,15}$/.test(text);
}
