import { type IncomingMessage, maxHeaderSize, type Server, type ServerResponse, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { ApiError, malformedRequest, unknownUrl } from '../errors.ts';
import { newId } from '../ids.ts';
import { urlTooLong } from './request-guards.ts';
import { LIMITS } from './schemas.ts';

/**
 * Answers for what never becomes a Fastify request: bytes Node's HTTP parser refuses, clients too
 * slow to send a request, CONNECT. Node would answer those with a bare status line and no body or
 * request id, or close without a word; here each gets the OpenAI envelope with an `x-request-id`
 * (CONTRACT §3), and the connection is closed after it: once the parser has failed, nothing more
 * on the connection can be trusted.
 */

const headersTooLarge = () =>
  new ApiError(
    431,
    'invalid_request_error',
    `The request line and headers are larger than ${maxHeaderSize / 1024} KiB.`,
    null,
    'headers_too_large',
  );

const timedOut = (timeouts: Timeouts) =>
  new ApiError(
    408,
    'invalid_request_error',
    timeouts.headersMs === undefined || timeouts.requestMs === undefined
      ? 'The request was not received in time.'
      : `The request was not received in time: its headers must arrive within ${seconds(timeouts.headersMs)} and all of it within ${seconds(timeouts.requestMs)}.`,
    null,
    'request_timeout',
  );

const seconds = (ms: number) => `${Math.round(ms / 100) / 10} s`;

export type Timeouts = { headersMs?: number | undefined; requestMs?: number | undefined };

/** A method token and a target, then the version: enough of a request line to answer its method. */
const REQUEST_LINE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]{1,32}) ([\x21-\x7e]+) HTTP\/\d\.\d\r?$/;

type ParserError = Error & { code?: string; reason?: unknown; rawPacket?: unknown; bytesParsed?: unknown };

/** The status and message for what Node's parser (or its timeouts) refused. */
export function clientErrorOf(error: ParserError, timeouts: Timeouts): ApiError {
  switch (error.code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return timedOut(timeouts);
    case 'HPE_HEADER_OVERFLOW':
      // Over a socket the request line counts towards Node's header limit: a URL longer than that
      // overflows it before the router could answer 414. Seen in the packet, it is still a 414.
      return startsWithLongTarget(error) ? urlTooLong() : headersTooLarge();
    case 'HPE_INVALID_METHOD': {
      // A method token Node does not know: OpenAI answers a method it does not serve with 404.
      const line = requestLineOf(error);
      const match = line === undefined ? null : REQUEST_LINE.exec(line);
      if (match?.[1] && match[2]) return unknownUrl(match[1], match[2].split('?')[0] ?? match[2]);
      return malformedRequest('The request is not HTTP/1.1.');
    }
  }
  const reason = typeof error.reason === 'string' && /^[\x20-\x7e]{1,200}$/.test(error.reason) ? error.reason : null;
  return malformedRequest(
    `The request is not valid HTTP/1.1${reason ? ` (${reason.replace(/\.$/, '')})` : ''}: it could not be parsed.`,
  );
}

/** The line of the raw packet where parsing stopped, when it is all there (a pipelined request need not be first). */
function requestLineOf(error: ParserError): string | undefined {
  const packet = error.rawPacket;
  if (!Buffer.isBuffer(packet)) return undefined;
  const at = typeof error.bytesParsed === 'number' ? Math.min(error.bytesParsed, packet.length) : 0;
  const start = at === 0 ? 0 : packet.lastIndexOf(0x0a, at - 1) + 1;
  const end = packet.indexOf(0x0a, start);
  if (end === -1 || end - start > LIMITS.urlBytes + 64) return undefined;
  return packet.toString('latin1', start, end);
}

/** A packet that opens with a method and a target longer than the URL limit, no line end in sight. */
function startsWithLongTarget(error: ParserError): boolean {
  const packet = error.rawPacket;
  if (!Buffer.isBuffer(packet) || packet.length <= LIMITS.urlBytes) return false;
  const head = packet.toString('latin1', 0, LIMITS.urlBytes + 64);
  return /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,32} [\x21-\x7e]+$/.test(head) && head.length > LIMITS.urlBytes;
}

/** How long a refused connection may go on sending (read and dropped) before it is cut, so the answer is not lost to a reset. */
const LINGER_MS = 1000;

/** Writes `error` as a whole HTTP/1.1 response on a raw socket, then closes the connection. */
export function answerOnSocket(socket: Socket, error: ApiError, requestId: string): void {
  const body = JSON.stringify(error.toEnvelope());
  const headers: Record<string, string> = {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(body)),
    'x-request-id': requestId,
    ...error.headers,
    connection: 'close',
  };
  const head = Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  socket.end(`HTTP/1.1 ${error.status} ${STATUS_CODES[error.status] ?? 'Error'}\r\n${head}\r\n${body}`);
  setTimeout(() => socket.destroy(), LINGER_MS).unref();
}

/**
 * Fastify's `clientErrorHandler`: Node's parser refused the bytes on `socket`, or the client was too
 * slow. Called again for every further chunk the failed parser sees: only the first answers.
 */
export function createClientErrorHandler(timeouts: Timeouts) {
  const answered = new WeakSet<Socket>();
  return function clientErrorHandler(this: FastifyInstance, error: ParserError, socket: Socket): void {
    if (answered.has(socket)) return;
    answered.add(socket);
    // A reset connection has no one left to answer.
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    const apiError = clientErrorOf(error, timeouts);
    const requestId = newId.request();
    // The code only: the raw packet holds the client's headers, its Authorization among them.
    this.log.info({ request_id: requestId, status: apiError.status, parser_code: error.code }, 'client error');
    respondAfterInFlight(socket, () => answerOnSocket(socket, apiError, requestId));
  };
}

/**
 * Answers on `socket` when it is its turn. A response may be under way on the connection: if its
 * request arrived whole, the failure is a later, pipelined request's, and its answer follows that
 * response; if not, the failure is that request's own (a broken or late body), answered at once
 * unless its response has begun — then the connection can only be closed.
 */
function respondAfterInFlight(socket: Socket, answer: () => void): void {
  const inFlight = (socket as Socket & { _httpMessage?: ServerResponse })._httpMessage;
  if (!socket.writable) socket.destroy();
  else if (inFlight === undefined || inFlight.writableFinished) answer();
  else if (inFlight.req.complete) {
    inFlight.once('finish', () => (socket.writable ? answer() : socket.destroy()));
    inFlight.once('close', () => {
      if (!inFlight.writableFinished) socket.destroy();
    });
  } else if (!inFlight.headersSent) answer();
  else socket.destroy();
}

/**
 * Requests Node would answer, or drop, without the app: an `Expect` other than 100-continue (Node
 * answers a bare 417; RFC 9110 lets a server ignore it, so the request is served as if it had none)
 * and CONNECT (Node closes the connection without a word; ftshare is no proxy, so 404 as for any
 * method it does not serve).
 */
export function installServerGuards(server: Server, log: FastifyBaseLogger): void {
  server.on('checkExpectation', (request, response) => server.emit('request', request, response));
  server.on('connect', (request: IncomingMessage, socket: Socket) => {
    const requestId = newId.request();
    log.info({ request_id: requestId, status: 404, method: 'CONNECT' }, 'client error');
    socket.on('error', () => socket.destroy());
    answerOnSocket(socket, unknownUrl('CONNECT', request.url ?? ''), requestId);
  });
}
