import { isUtf8 } from 'node:buffer';
import type { FastifyInstance, FastifyRequest, preValidationHookHandler } from 'fastify';
import { badRequest } from '../errors.ts';

/**
 * How request bodies are read. JSON is the one body ftshare takes, and it is UTF-8 (RFC 8259):
 * anything else is refused in ftshare's words rather than parsed by guesswork.
 *
 * - An empty body is no body, whatever its `Content-Type`. The official Python SDK sends
 *   `Content-Type: application/json` on every request, a DELETE or an archive included; a route
 *   that takes no body, or only optional fields, accepts it, and a route whose body has required
 *   fields answers 400 `missing_required_parameter` naming the first one, as it does for `{}`.
 * - A body that is not valid UTF-8 is 400 `invalid_json` (Node would decode it into U+FFFD).
 * - A `Content-Encoding` other than `identity`, a charset other than UTF-8, or any media type
 *   other than `application/json`: 400 `unsupported_media_type` (CONTRACT §3 has no 415).
 */
export function installBodyParsing(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeAllContentTypeParsers();

  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    const refused = refusedEncoding(request) ?? refusedCharset(request);
    if (refused) return done(refused, undefined);
    const bytes = body as Buffer;
    if (bytes.length === 0) return done(null, undefined);
    if (!isUtf8(bytes)) {
      return done(badRequest('The request body is not valid UTF-8; JSON must be.', null, 'invalid_json'), undefined);
    }
    parseJson(request, bytes.toString('utf8'), done);
  });

  app.addContentTypeParser('*', { parseAs: 'buffer' }, (request, body, done) => {
    const refused = refusedEncoding(request);
    if (refused) return done(refused, undefined);
    if ((body as Buffer).length === 0) return done(null, undefined);
    done(unsupportedMediaType(), undefined);
  });

  // Routes with a body schema validate an absent body as `{}`: its required fields are missing.
  app.addHook('onRoute', (route) => {
    if (route.schema?.body === undefined) return;
    const existing = route.preValidation;
    route.preValidation = [absentBodyIsEmptyObject, ...(existing === undefined ? [] : [existing].flat())];
  });
}

const absentBodyIsEmptyObject: preValidationHookHandler = (request, _reply, done) => {
  if (request.body === undefined) request.body = {};
  done();
};

export const unsupportedMediaType = () =>
  badRequest('The request body must be sent as Content-Type: application/json.', null, 'unsupported_media_type');

function refusedEncoding(request: FastifyRequest) {
  const encoding = request.headers['content-encoding'];
  if (encoding === undefined || encoding.trim().toLowerCase() === 'identity') return undefined;
  return badRequest(
    'The request body must be sent uncompressed: Content-Encoding is not supported.',
    null,
    'unsupported_media_type',
  );
}

function refusedCharset(request: FastifyRequest) {
  const charset = /;\s*charset\s*=\s*"?([^";\s]*)/i.exec(request.headers['content-type'] ?? '')?.[1];
  if (charset === undefined || /^utf-?8$/i.test(charset)) return undefined;
  return badRequest('The request body must be JSON in UTF-8 (charset=utf-8).', null, 'unsupported_media_type');
}
