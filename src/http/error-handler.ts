import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError, badRequest, malformedRequest, serverError, storeUnavailable, unknownUrl } from '../errors.ts';
import type { Store } from '../storage/store.ts';
import { unsupportedMediaType } from './body.ts';
import type { AuthFailureLimiter } from './rate-limit.ts';
import { urlTooLong } from './request-guards.ts';
import { validationError } from './validation.ts';

/**
 * Fastify's own refusals, in ftshare's words and codes. Anything else Fastify answers at 4xx is a
 * request it could not read (a body cut short, a connection aborted mid-body): 400
 * `malformed_request`, never Fastify's own message.
 */
function frameworkError(error: FastifyError): ApiError | undefined {
  switch (error.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return badRequest(
        'We could not parse the JSON body of your request. (HINT: This likely means you aren’t using your HTTP library correctly.)',
        null,
        'invalid_json',
      );
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ApiError(
        413,
        'invalid_request_error',
        'The request body is larger than 1 MiB.',
        null,
        'payload_too_large',
      );
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return unsupportedMediaType();
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return malformedRequest('The request body is not as long as its Content-Length says.');
  }
  const status = error.statusCode ?? 500;
  if (status >= 400 && status < 500) return malformedRequest('The request could not be read.');
  return undefined;
}

/**
 * Fastify's `frameworkErrors` option: failures found before routing (a malformed percent-encoding,
 * a path parameter past the URL limit) bypass the error handler and would answer Fastify's own
 * JSON with no request id. They answer the OpenAI envelope too (CONTRACT §3).
 */
export function routingError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const path = request.url.split('?')[0] ?? request.url;
  const status = error.statusCode ?? 400;
  const apiError =
    status >= 500
      ? serverError()
      : error.code === 'FST_ERR_MAX_PARAM_LENGTH'
        ? urlTooLong()
        : new ApiError(
            status,
            'invalid_request_error',
            `Invalid URL (${request.method} ${path}): it is not validly percent-encoded.`,
            null,
            'invalid_value',
          );
  if (status >= 500) request.log.error({ err: error }, 'routing error');
  reply.code(apiError.status).header('x-request-id', request.id).send(apiError.toEnvelope());
}

/**
 * One handler for every failure, so every non-2xx is the OpenAI envelope (CONTRACT §3). A failed
 * authentication (401) is counted against its address when `authFailures` is set, and answered
 * 429 instead once the address is over its budget.
 */
export function installErrorHandling(app: FastifyInstance, store: Store, authFailures?: AuthFailureLimiter): void {
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
    if (authFailures && apiError.status === 401) {
      const unauthenticated = apiError;
      return authFailures.recordFailure(request).then((limited) => {
        send(reply, limited ?? unauthenticated);
      });
    }
    return send(reply, apiError);
  });

  app.setNotFoundHandler((request, reply) => {
    // The URL as sent: the emulator's rewriteUrl may have prefixed it with /v1 (equal otherwise).
    const path = request.originalUrl.split('?')[0] ?? request.originalUrl;
    return reply.code(404).send(unknownUrl(request.method, path).toEnvelope());
  });
}

const send = (reply: FastifyReply, error: ApiError) =>
  reply.code(error.status).headers(error.headers).send(error.toEnvelope());
