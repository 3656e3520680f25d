import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError, badRequest, serverError, storeUnavailable, unknownUrl } from '../errors.ts';
import type { Store } from '../storage/store.ts';
import { validationError } from './validation.ts';

/** Fastify's own client errors, in OpenAI's words. Anything else at 4xx keeps Fastify's message. */
function frameworkError(error: FastifyError): ApiError | undefined {
  switch (error.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return badRequest(
        'We could not parse the JSON body of your request. (HINT: This likely means you aren’t using your HTTP library correctly.)',
        null,
        'invalid_json',
      );
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return badRequest('The request body must be a JSON object; it was empty.', null, 'invalid_json');
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ApiError(
        413,
        'invalid_request_error',
        'The request body is larger than 1 MiB.',
        null,
        'payload_too_large',
      );
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return badRequest(
        'The request body must be sent as Content-Type: application/json.',
        null,
        'unsupported_media_type',
      );
  }
  const status = error.statusCode ?? 500;
  if (status >= 400 && status < 500) return badRequest(error.message, null);
  return undefined;
}

/**
 * Fastify's `frameworkErrors` option: failures found before routing (a malformed percent-encoding,
 * an over-long path parameter) bypass the error handler and would answer Fastify's own JSON with no
 * request id. They answer the OpenAI envelope too (CONTRACT §3).
 */
export function routingError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const path = request.url.split('?')[0] ?? request.url;
  const status = error.statusCode ?? 400;
  const apiError =
    status >= 500
      ? serverError()
      : new ApiError(
          status,
          'invalid_request_error',
          error.code === 'FST_ERR_BAD_URL'
            ? `Invalid URL (${request.method} ${path}): it is not validly percent-encoded.`
            : `Invalid URL (${request.method} ${path}): a path segment is too long.`,
          null,
          'invalid_value',
        );
  if (status >= 500) request.log.error({ err: error }, 'routing error');
  reply.code(apiError.status).header('x-request-id', request.id).send(apiError.toEnvelope());
}

/** One handler for every failure, so every non-2xx is the OpenAI envelope (CONTRACT §3). */
export function installErrorHandling(app: FastifyInstance, store: Store): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    let apiError: ApiError;
    if (error instanceof ApiError) apiError = error;
    else if (error.validation) apiError = validationError(error.validation, error.validationContext);
    else if (store.isUnavailableError(error)) {
      request.log.warn({ err: error }, 'store unavailable');
      apiError = storeUnavailable();
    } else {
      const known = frameworkError(error);
      if (known) apiError = known;
      else {
        // The details stay in the log, under this request id; the client gets none of them.
        request.log.error({ err: error }, 'unhandled error');
        apiError = serverError();
      }
    }
    return reply.code(apiError.status).headers(apiError.headers).send(apiError.toEnvelope());
  });

  app.setNotFoundHandler((request, reply) => {
    // The URL as sent: the emulator's rewriteUrl may have prefixed it with /v1 (equal otherwise).
    const path = request.originalUrl.split('?')[0] ?? request.originalUrl;
    return reply.code(404).send(unknownUrl(request.method, path).toEnvelope());
  });
}
