import type OpenAI from 'openai';
import { CliError, EXIT, usageError } from './exit.ts';

/**
 * The CLI's connection to a running server: the official `openai` SDK for the routes it has a
 * method for, plain `fetch` for ftshare's extension routes. Both retry alike (network errors,
 * 408/409/429/5xx, the server's `x-should-retry` and `retry-after`), and both fail as one
 * CliError: the server's own message, and an exit code saying what went wrong.
 */

export const DEFAULT_BASE_URL = 'http://127.0.0.1:8080/v1';

/** The SDK's own defaults for retries; a timeout short enough that a hung server fails a command. */
const MAX_RETRIES = 2;
export const TIMEOUT_MS = 60_000;

export type Query = Record<string, string | number | boolean | readonly string[] | undefined>;

type ErrorBody = { error?: { message?: unknown; code?: unknown } };

export class Client {
  readonly baseURL: string;
  readonly #adminKey: string;
  #sdk: OpenAI | undefined;

  constructor(baseURL: string, adminKey: string | undefined) {
    this.baseURL = checkBaseUrl(baseURL);
    if (adminKey === undefined || adminKey === '') {
      throw usageError('no admin key: set FTSHARE_ADMIN_KEY or pass --admin-key (an sk-admin-... key)');
    }
    this.#adminKey = adminKey;
  }

  /**
   * The SDK, loaded on first use: `ftshare serve` never pays for it. The admin key is both keys:
   * admin routes send `adminAPIKey`, `GET /v1/models` sends `apiKey` (with an admin key it lists
   * every model of the organization). Organization and project stay null so OPENAI_* variables
   * of the environment cannot add headers.
   */
  async sdk(): Promise<OpenAI> {
    if (this.#sdk === undefined) {
      const { default: OpenAIClient } = await import('openai');
      this.#sdk = new OpenAIClient({
        apiKey: this.#adminKey,
        adminAPIKey: this.#adminKey,
        baseURL: this.baseURL,
        organization: null,
        project: null,
        maxRetries: MAX_RETRIES,
        timeout: TIMEOUT_MS,
        logLevel: 'off',
      });
    }
    return this.#sdk;
  }

  url(path: string, query: Query = {}): string {
    const url = new URL(`${this.baseURL}${path}`);
    for (const [name, value] of Object.entries(query)) {
      if (value === undefined) continue;
      if (Array.isArray(value)) for (const item of value) url.searchParams.append(`${name}[]`, item);
      else url.searchParams.set(name, String(value));
    }
    return url.toString();
  }

  /** One JSON request to an extension route; the parsed answer on 2xx, a CliError otherwise. */
  async request<T>(
    method: 'GET' | 'POST' | 'DELETE',
    path: string,
    options: { query?: Query; body?: unknown; json?: string } = {},
  ) {
    const response = await this.send(method, path, options);
    return (await response.json()) as T;
  }

  /**
   * The raw response of a 2xx answer (for streamed bodies), after retries; a CliError otherwise.
   * `json` is a body already serialised; `signal` replaces the timeout (a whole export takes as
   * long as it takes: its caller watches for silence instead).
   */
  async send(
    method: 'GET' | 'POST' | 'DELETE',
    path: string,
    options: { query?: Query; body?: unknown; json?: string; signal?: AbortSignal } = {},
  ): Promise<Response> {
    const url = this.url(path, options.query);
    const body = options.json ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
    for (let attempt = 0; ; attempt++) {
      let response: Response;
      try {
        response = await fetch(url, {
          method,
          headers: {
            authorization: `Bearer ${this.#adminKey}`,
            accept: 'application/json',
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          },
          ...(body === undefined ? {} : { body }),
          signal: options.signal ?? AbortSignal.timeout(TIMEOUT_MS),
        });
      } catch (error) {
        if (attempt < MAX_RETRIES) {
          await sleep(backoff(attempt, null));
          continue;
        }
        throw unreachable(this.baseURL, error);
      }
      if (response.ok) return response;
      if (attempt < MAX_RETRIES && shouldRetry(response)) {
        await response.body?.cancel();
        await sleep(backoff(attempt, response.headers));
        continue;
      }
      let parsed: ErrorBody | undefined;
      try {
        parsed = (await response.json()) as ErrorBody;
      } catch {}
      throw serverError(response.status, parsed?.error, response.headers.get('x-request-id'));
    }
  }

  /** Every item of a cursor list of an extension route, page after page (`after` = last id). */
  async *pages<T extends { id: string }>(path: string, query: Query = {}): AsyncGenerator<T> {
    let after: string | undefined;
    for (;;) {
      const page = await this.request<{ data: T[]; has_more: boolean; last_id: string | null }>('GET', path, {
        query: { ...query, limit: 100, ...(after === undefined ? {} : { after }) },
      });
      yield* page.data;
      if (!page.has_more || page.last_id === null) return;
      after = page.last_id;
    }
  }
}

function checkBaseUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw usageError(`--base-url / FTSHARE_BASE_URL: \`${raw}\` is not a URL (e.g. ${DEFAULT_BASE_URL})`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw usageError(`--base-url / FTSHARE_BASE_URL: \`${raw}\` must be an http:// or https:// URL`);
  }
  return url.toString().replace(/\/+$/, '');
}

/** The SDK's retry rule: the server's `x-should-retry` first, else 408, 409, 429 and 5xx. */
function shouldRetry(response: Response): boolean {
  const header = response.headers.get('x-should-retry');
  if (header === 'true') return true;
  if (header === 'false') return false;
  return [408, 409, 429].includes(response.status) || response.status >= 500;
}

/** `retry-after(-ms)` when the server sent a sane one, else 0.5 s doubling up to 8 s, with jitter. */
function backoff(attempt: number, headers: Headers | null): number {
  const ms = Number(headers?.get('retry-after-ms'));
  if (Number.isFinite(ms) && ms > 0 && ms < 60_000) return ms;
  const seconds = Number(headers?.get('retry-after'));
  if (Number.isFinite(seconds) && seconds > 0 && seconds < 60) return seconds * 1000;
  return Math.min(500 * 2 ** attempt, 8000) * (1 - Math.random() * 0.25);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The innermost cause ("connect ECONNREFUSED 127.0.0.1:8080"), not "fetch failed" or "Connection error." */
function causeOf(error: unknown): string {
  let current = error;
  for (let depth = 0; depth < 8; depth++) {
    // AggregateError (several addresses tried): the first says enough.
    const next = (current as { errors?: unknown[] })?.errors?.[0] ?? (current as { cause?: unknown })?.cause;
    if (!(next instanceof Error)) break;
    current = next;
  }
  return current instanceof Error ? current.message : String(current);
}

export const unreachable = (baseURL: string, error: unknown) =>
  new CliError(`cannot reach the server at ${baseURL}: ${causeOf(error)}`, EXIT.unreachable);

/** The server's message, then what a reader needs to look further: status, code, request id. */
export function serverError(
  status: number,
  error: { message?: unknown; code?: unknown } | undefined,
  requestId: string | null,
) {
  const message = typeof error?.message === 'string' && error.message !== '' ? error.message : `HTTP ${status}`;
  const code = typeof error?.code === 'string' ? ` ${error.code}` : '';
  const request = requestId ? `, request ${requestId}` : '';
  return new CliError(`${message} (${status}${code}${request})`, status === 404 ? EXIT.notFound : EXIT.server);
}

/** Any failure of a command as a CliError: the SDK's error classes, fetch's, ours. */
export async function toCliError(error: unknown, baseURL: string | undefined): Promise<CliError> {
  if (error instanceof CliError) return error;
  const { APIConnectionError, APIError } = await import('openai');
  if (error instanceof APIConnectionError) return unreachable(baseURL ?? 'the base URL', error);
  if (error instanceof APIError && error.status !== undefined) {
    return serverError(error.status, error.error as ErrorBody['error'], error.requestID ?? null);
  }
  return new CliError(error instanceof Error ? error.message : String(error), EXIT.server);
}
