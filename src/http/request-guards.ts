import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiError, malformedRequest } from '../errors.ts';
import { MALFORMED, type ParsedQuery } from './query.ts';
import { LIMITS } from './schemas.ts';

/**
 * The first hook of every request: it sets `x-request-id` (every answer carries it), then refuses
 * what is wrong with the request as a whole, before authentication (as routing's own refusals are)
 * and before any body is read: a URL past the limit (414), an HTTP/1.1 request without `Host`
 * (400, which Node would answer bare), a query string that is not percent-encoded UTF-8 (400).
 */
export function installRequestGuards(app: FastifyInstance): void {
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    if (request.url.length > LIMITS.urlBytes) return done(urlTooLong());
    if (request.headers.host === undefined && request.raw.httpVersion === '1.1') {
      return done(malformedRequest('An HTTP/1.1 request must carry a Host header.'));
    }
    if ((request.query as ParsedQuery | undefined)?.[MALFORMED] !== undefined) return done(badQueryEncoding(request));
    done();
  });
}

const badQueryEncoding = (request: FastifyRequest) =>
  new ApiError(
    400,
    'invalid_request_error',
    `Invalid URL (${request.method} ${request.url.split('?')[0]}): its query string is not validly percent-encoded UTF-8.`,
    null,
    'invalid_value',
  );

export const urlTooLong = () =>
  new ApiError(414, 'invalid_request_error', `The URL is longer than ${LIMITS.urlBytes} bytes.`, null, 'url_too_long');
