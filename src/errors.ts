import { redactSecrets } from './redact.ts';

/**
 * The one error type of ftshare and the OpenAI envelope it serialises to.
 *
 * Every non-2xx response, from validation to an unknown route, is an `ApiError` rendered by
 * `toEnvelope`. The status is chosen for the exception the official SDK raises and for its retry
 * rule: it retries 408, 409, 429 and 5xx, so a client mistake must never be answered with one of
 * those — 408 and 429 are answered only when waiting and retrying is the remedy (a client too slow
 * to send its request, a rate limit).
 */

/** The closed list of `error.code` values ftshare emits (OpenAI's own where OpenAI has one). */
export type ErrorCode =
  | 'invalid_api_key'
  | 'missing_api_key'
  | 'insufficient_permissions'
  | 'invalid_json'
  | 'invalid_value'
  | 'unknown_parameter'
  | 'missing_required_parameter'
  | 'model_not_found'
  | 'project_not_found'
  | 'project_archived'
  | 'checkpoint_exists'
  | 'last_active_admin_key'
  | 'model_not_deletable'
  | 'import_conflict'
  | 'not_found'
  | 'unknown_url'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'malformed_request'
  | 'url_too_long'
  | 'headers_too_large'
  | 'request_timeout'
  | 'rate_limit_exceeded'
  | 'server_error'
  | 'store_unavailable';

/**
 * OpenAI answers every client error, 401 and 403 included, with `invalid_request_error`, except a
 * rate limit: 429 `rate_limit_exceeded` has the type of the limit reached, `requests` here.
 */
export type ErrorType = 'invalid_request_error' | 'requests' | 'server_error';

export type ErrorEnvelope = {
  error: { message: string; type: ErrorType; param: string | null; code: ErrorCode | null };
};

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly type: ErrorType,
    message: string,
    readonly param: string | null = null,
    readonly code: ErrorCode | null = null,
    /** Headers the response must carry, e.g. `x-should-retry` on 503. */
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }

  /** Message and param are redacted: both may echo what the client sent, a misplaced key included. */
  toEnvelope(): ErrorEnvelope {
    return {
      error: {
        message: redactSecrets(this.message),
        type: this.type,
        param: this.param === null ? null : redactSecrets(this.param),
        code: this.code,
      },
    };
  }
}

export const badRequest = (message: string, param: string | null, code: ErrorCode = 'invalid_value') =>
  new ApiError(400, 'invalid_request_error', message, param, code);

export const notFound = (message: string, code: ErrorCode = 'not_found') =>
  new ApiError(404, 'invalid_request_error', message, null, code);

export const modelNotFound = (model: string) =>
  new ApiError(
    404,
    'invalid_request_error',
    `The model \`${model}\` does not exist or you do not have access to it.`,
    null,
    'model_not_found',
  );

export const unknownUrl = (method: string, path: string) =>
  new ApiError(404, 'invalid_request_error', `Invalid URL (${method} ${path})`, null, 'unknown_url');

/** A request the HTTP layer cannot take as it is: unparseable, unreadable, or missing what HTTP/1.1 requires. */
export const malformedRequest = (message: string) =>
  new ApiError(400, 'invalid_request_error', message, null, 'malformed_request');

/**
 * 429 with `retry-after` in whole seconds (at least 1) and `retry-after-ms`, which the SDK prefers:
 * it waits that long before its retry. When a retry cannot succeed (the same failing key again),
 * `x-should-retry: false` tells the SDK not to wait for it. OpenAI's own 429 carries the kind of
 * limit as its type (`requests`, `tokens`).
 */
export const rateLimited = (message: string, retryAfterMs: number, retryable: boolean) =>
  new ApiError(429, 'requests', message, null, 'rate_limit_exceeded', {
    'retry-after': String(Math.max(1, Math.ceil(retryAfterMs / 1000))),
    'retry-after-ms': String(Math.max(1, Math.ceil(retryAfterMs))),
    ...(retryable ? {} : { 'x-should-retry': 'false' }),
  });

export const serverError = () =>
  new ApiError(
    500,
    'server_error',
    'The server had an error while processing your request. The request id in x-request-id identifies it in our logs.',
    null,
    'server_error',
  );

/**
 * 503 with `x-should-retry: true` (the SDK retries it) and `retry-after: 1`: a hint for every other
 * client and load balancer, and one second is about how long the pool takes to reconnect to a
 * database that is back. The SDK honours it (up to 60 s) instead of its own backoff.
 */
export const storeUnavailable = () =>
  new ApiError(
    503,
    'server_error',
    'The service is temporarily unable to reach its store. Please retry shortly.',
    null,
    'store_unavailable',
    { 'x-should-retry': 'true', 'retry-after': '1' },
  );
