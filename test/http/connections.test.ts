import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { buildApp } from '../../src/app.ts';
import { parseConfig, SETTINGS } from '../../src/config.ts';
import type { EdgeLimits } from '../../src/http/server-options.ts';
import { trustProxyOf } from '../../src/http/server-options.ts';
import { backends, openTestStore } from '../support/backends.ts';
import {
  closedWithin,
  connect,
  type RawExchange,
  type RawResponse,
  rawExchange,
  requestOn,
  trickle,
} from '../support/raw-http.ts';
import { newOrg, type TestOrg } from '../support/world.ts';

/**
 * Issue 10 over real sockets: what Node's HTTP parser refuses, slow clients and the connection cap.
 * Each answer is the OpenAI envelope with an x-request-id, and the connection is closed after it.
 * Timeouts are set short so nothing waits long; nothing here asserts how long anything took.
 * The store is barely involved (one key lookup), so these run on SQLite only.
 */

const [sqlite] = await backends();
if (!sqlite) throw new Error('no SQLite backend');

/** An app over a fresh SQLite store, listening on a free loopback port, with `limits`. */
function useServer(limits: Partial<EdgeLimits>) {
  let ctx: Awaited<ReturnType<typeof openTestStore>> | undefined;
  let app: Awaited<ReturnType<typeof buildApp>> | undefined;
  const state = { port: 0, org: undefined as TestOrg | undefined };
  before(async () => {
    ctx = await openTestStore(sqlite as NonNullable<typeof sqlite>);
    app = await buildApp({ store: ctx.store, limits });
    await app.listen({ host: '127.0.0.1', port: 0 });
    state.port = (app.server.address() as AddressInfo).port;
    state.org = await newOrg(ctx.store);
  });
  after(async () => {
    app?.server.closeAllConnections();
    await app?.close();
    await ctx?.dispose();
  });
  return state;
}

/** The checks every refusal passes: the status, the envelope, a request id, and `connection: close`. */
function assertRefusal(response: RawResponse | undefined, status: number, code: string, where: string): RawResponse {
  assert.ok(response, `${where}: no response`);
  assert.equal(response.status, status, `${where}: ${JSON.stringify(response)}`);
  assert.deepEqual(Object.keys(response.body?.error ?? {}).sort(), ['code', 'message', 'param', 'type'], where);
  assert.equal(response.body.error.code, code, where);
  assert.equal(response.body.error.type, 'invalid_request_error', where);
  assert.match(response.headers['x-request-id'] ?? '', /^req_[0-9a-f]+$/i, where);
  assert.match(response.headers['content-type'] ?? '', /^application\/json/, where);
  return response;
}

function assertClosedAfterOne(exchange: RawExchange, where: string): void {
  assert.equal(exchange.closedByServer, true, `${where}: the server kept the connection open`);
  assert.equal(exchange.responses.length, 1, `${where}: ${exchange.raw}`);
  assert.equal(exchange.responses[0]?.headers.connection, 'close', where);
}

describe('what Node’s HTTP parser refuses answers the OpenAI envelope, then closes', () => {
  const server = useServer({});

  const refusals: [string, string | Buffer, number, string][] = [
    ['an unknown method token', 'FOO /v1/models?x=1 HTTP/1.1\r\nHost: a\r\n\r\n', 404, 'unknown_url'],
    ['a lower-case method', 'get /healthz HTTP/1.1\r\nHost: a\r\n\r\n', 404, 'unknown_url'],
    [
      'headers over 16 KiB',
      `GET /healthz HTTP/1.1\r\nHost: a\r\nX-Big: ${'a'.repeat(17_000)}\r\n\r\n`,
      431,
      'headers_too_large',
    ],
    ['a request line over 16 KiB', `GET /v1/${'a'.repeat(17_000)} HTTP/1.1\r\nHost: a\r\n\r\n`, 414, 'url_too_long'],
    ['bare LF line endings', 'GET /healthz HTTP/1.1\nHost: a\n\n', 400, 'malformed_request'],
    [
      'both Content-Length and Transfer-Encoding',
      'POST /v1/organization/projects HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
      400,
      'malformed_request',
    ],
    [
      'two different Content-Lengths',
      'POST /v1/organization/projects HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}',
      400,
      'malformed_request',
    ],
    ['a NUL in a header value', 'GET /healthz HTTP/1.1\r\nHost: a\r\nX-A: a\0b\r\n\r\n', 400, 'malformed_request'],
    ['a folded header line', 'GET /healthz HTTP/1.1\r\nHost: a\r\nX-A: a\r\n b\r\n\r\n', 400, 'malformed_request'],
    ['a space in the target', 'GET /v1/a b HTTP/1.1\r\nHost: a\r\n\r\n', 400, 'malformed_request'],
    ['an unknown HTTP version', 'GET /healthz HTTP/3.0\r\nHost: a\r\n\r\n', 400, 'malformed_request'],
    ['the HTTP/2 preface', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 400, 'malformed_request'],
    [
      'a TLS ClientHello',
      Buffer.from([0x16, 0x03, 0x01, 0x00, 0xa5, 0x01, 0x00, 0x00, 0xa1, 0x03, 0x03]),
      400,
      'malformed_request',
    ],
    ['raw binary', Buffer.from([0x00, 0xff, 0x13, 0x37, 0x0d, 0x0a, 0x0d, 0x0a]), 400, 'malformed_request'],
  ];

  for (const [what, bytes, status, code] of refusals) {
    test(`${what} → ${status} ${code}`, async () => {
      const exchange = await rawExchange(server.port, bytes);
      assertRefusal(exchange.responses[0], status, code, what);
      assertClosedAfterOne(exchange, what);
    });
  }

  test('an unknown method is answered as OpenAI answers unserved methods: Invalid URL (METHOD /path)', async () => {
    const exchange = await rawExchange(server.port, 'FOO /v1/models?x=1 HTTP/1.1\r\nHost: a\r\n\r\n');
    assert.equal(exchange.responses[0]?.body.error.message, 'Invalid URL (FOO /v1/models)');
    const known = await rawExchange(server.port, 'PURGE /v1/models HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
    assertRefusal(known.responses[0], 404, 'unknown_url', 'PURGE');
    assert.equal(known.responses[0]?.body.error.message, 'Invalid URL (PURGE /v1/models)');
  });

  test('a bad chunk in a body being read → 400, and the response the handler would have sent never follows', async () => {
    const key = server.org?.adminKey;
    const exchange = await rawExchange(
      server.port,
      `POST /v1/organization/projects HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer ${key}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n`,
    );
    assertRefusal(exchange.responses[0], 400, 'malformed_request', 'bad chunk');
    assertClosedAfterOne(exchange, 'bad chunk');
  });

  test('a pipelined request the parser refuses is answered after the good one before it', async () => {
    const exchange = await rawExchange(
      server.port,
      'GET /healthz HTTP/1.1\r\nHost: a\r\n\r\nFOO /nowhere HTTP/1.1\r\nHost: a\r\n\r\n',
    );
    assert.equal(exchange.responses.length, 2, exchange.raw);
    assert.equal(exchange.responses[0]?.status, 200);
    assert.deepEqual(exchange.responses[0]?.body, { status: 'ok' });
    assertRefusal(exchange.responses[1], 404, 'unknown_url', 'pipelined FOO');
    assert.equal(exchange.closedByServer, true);
  });

  test('an HTTP/1.1 request without Host → 400 malformed_request; HTTP/1.0 needs none', async () => {
    const exchange = await rawExchange(server.port, 'GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n');
    assertRefusal(exchange.responses[0], 400, 'malformed_request', 'no Host');
    const old = await rawExchange(server.port, 'GET /healthz HTTP/1.0\r\n\r\n');
    assert.equal(old.responses[0]?.status, 200, old.raw);
  });

  test('a URL between 8 and 16 KiB → 414 url_too_long from the app itself', async () => {
    const exchange = await rawExchange(
      server.port,
      `GET /v1/organization/projects?pad=${'a'.repeat(9000)} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n`,
    );
    assertRefusal(exchange.responses[0], 414, 'url_too_long', '9 KiB URL');
  });

  test('Expect other than 100-continue is ignored (served), CONNECT → 404 and closed', async () => {
    const expect = await rawExchange(
      server.port,
      'GET /healthz HTTP/1.1\r\nHost: a\r\nExpect: foo\r\nConnection: close\r\n\r\n',
    );
    assert.equal(expect.responses[0]?.status, 200, expect.raw);
    const tunnel = await rawExchange(server.port, 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n');
    assertRefusal(tunnel.responses[0], 404, 'unknown_url', 'CONNECT');
    assert.equal(tunnel.responses[0]?.body.error.message, 'Invalid URL (CONNECT example.com:443)');
    assertClosedAfterOne(tunnel, 'CONNECT');
  });

  test('after all of that, the server serves as before', async () => {
    const exchange = await rawExchange(server.port, 'GET /healthz HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
    assert.equal(exchange.responses[0]?.status, 200);
  });
});

describe('slow clients are cut off while others are served', () => {
  const server = useServer({ headersTimeoutMs: 300, requestTimeoutMs: 600, keepAliveTimeoutMs: 200 });

  /** Requests /healthz on fresh connections until `until` settles; how many were answered 200. */
  async function serveMeanwhile(until: Promise<unknown>): Promise<number> {
    let settled = false;
    void until.finally(() => {
      settled = true;
    });
    let served = 0;
    while (!settled) {
      const exchange = await rawExchange(server.port, 'GET /healthz HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
      if (exchange.responses[0]?.status === 200) served++;
    }
    return served;
  }

  test('a client trickling its headers gets 408 and is disconnected', async () => {
    let n = 0;
    const slow = rawExchange(server.port, 'GET /healthz HTTP/1.1\r\n', {
      during: trickle(() => `X-Slow-${n++}: a\r\n`, 40),
    });
    const served = await serveMeanwhile(slow);
    const exchange = await slow;
    assertRefusal(exchange.responses[0], 408, 'request_timeout', 'trickled headers');
    assertClosedAfterOne(exchange, 'trickled headers');
    assert.ok(served > 0, 'no other client was served meanwhile');
  });

  test('a client trickling its body gets 408 and is disconnected', async () => {
    const slow = rawExchange(
      server.port,
      `POST /v1/organization/projects HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer ${server.org?.adminKey}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"name":"`,
      { during: trickle(() => 'a', 40) },
    );
    const served = await serveMeanwhile(slow);
    const exchange = await slow;
    assertRefusal(exchange.responses[0], 408, 'request_timeout', 'trickled body');
    assertClosedAfterOne(exchange, 'trickled body');
    assert.ok(served > 0, 'no other client was served meanwhile');
  });

  test('a client that connects and sends nothing is disconnected', async () => {
    const exchange = await rawExchange(server.port, '');
    assert.equal(exchange.closedByServer, true);
  });

  test('an idle keep-alive connection is closed by the server', async () => {
    const socket = await connect(server.port);
    const response = await requestOn(socket, 'GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n');
    assert.equal(response?.status, 200);
    assert.equal(await closedWithin(socket, 10_000), true, 'the idle connection stayed open');
    socket.destroy();
  });
});

describe('the connection cap', () => {
  const server = useServer({ maxConnections: 3 });

  test('past --max-connections new connections are closed at once, and the open ones keep being served', async () => {
    const request = 'GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n';
    const open = [await connect(server.port), await connect(server.port), await connect(server.port)];
    try {
      // Each is accepted and counted once it has been answered.
      for (const socket of open) assert.equal((await requestOn(socket, request))?.status, 200);
      const refused = await rawExchange(server.port, request);
      assert.equal(refused.closedByServer, true);
      assert.equal(refused.responses.length, 0, refused.raw);
      for (const socket of open) assert.equal((await requestOn(socket, request))?.status, 200);
    } finally {
      for (const socket of open) socket.destroy();
    }
    // Room again once they are gone (the server notices the closes asynchronously).
    for (let attempt = 0; ; attempt++) {
      const exchange = await rawExchange(server.port, 'GET /healthz HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
      if (exchange.responses[0]?.status === 200) break;
      assert.ok(attempt < 200, 'no connection was accepted after the others closed');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  });
});

describe('connection settings', () => {
  const defaults = () => Object.fromEntries(SETTINGS.map((s) => [s.key, s.default]));

  test('defaults: 10 s for headers, 30 s for a request, 72 s idle, 4096 connections, 100 failed keys per 10 s', () => {
    const config = parseConfig(defaults());
    assert.equal(config.headersTimeoutMs, 10_000);
    assert.equal(config.requestTimeoutMs, 30_000);
    assert.equal(config.keepAliveTimeoutMs, 72_000);
    assert.equal(config.maxConnections, 4096);
    assert.equal(config.authFailureLimit, 100);
    assert.equal(config.authFailureWindowMs, 10_000);
    assert.equal(config.keyRateLimit, 0);
    assert.equal(config.trustProxy, 'false');
  });

  test('a headers timeout longer than the request timeout, or a zero timeout, is refused at start', () => {
    assert.throws(
      () => parseConfig({ ...defaults(), headersTimeoutMs: '5000', requestTimeoutMs: '1000' }),
      /request-timeout/,
    );
    assert.throws(() => parseConfig({ ...defaults(), headersTimeoutMs: '0' }), /headers-timeout-ms/);
    assert.throws(() => parseConfig({ ...defaults(), authFailureLimit: '-1' }), /auth-failure-limit/);
  });

  test('--trust-proxy: false, true, a hop count, or addresses', () => {
    assert.equal(trustProxyOf('false'), false);
    assert.equal(trustProxyOf('true'), true);
    assert.equal(trustProxyOf('10.0.0.0/8,127.0.0.1'), '10.0.0.0/8,127.0.0.1');
    const hops = trustProxyOf('1');
    assert.equal(typeof hops, 'function');
    if (typeof hops === 'function') {
      assert.equal(hops('127.0.0.1', 0), true);
      assert.equal(hops('127.0.0.1', 1), false);
    }
  });
});
