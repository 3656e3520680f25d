import net from 'node:net';

/**
 * HTTP/1.1 over a bare socket, for what no HTTP client will send: malformed requests, requests cut
 * short or trickled, many connections held open.
 */

export type RawResponse = {
  status: number;
  headers: Record<string, string>;
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON shapes
  body: any;
};

export type RawExchange = {
  responses: RawResponse[];
  /** The server ended or reset the connection (rather than the deadline ending the wait). */
  closedByServer: boolean;
  /** Everything received, as latin1 text. */
  raw: string;
};

/**
 * Connects to `port`, writes `data`, lets `during` go on writing, and collects what comes back
 * until the server closes the connection or `deadlineMs` passes (then closes it itself).
 */
export function rawExchange(
  port: number,
  data: string | Buffer,
  options: { during?: (socket: net.Socket) => void; deadlineMs?: number } = {},
): Promise<RawExchange> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    const chunks: Buffer[] = [];
    let closedByServer = false;
    let settled = false;
    const finish = () => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      socket.destroy();
      const raw = Buffer.concat(chunks).toString('latin1');
      resolve({ responses: parseResponses(Buffer.concat(chunks)), closedByServer, raw });
    };
    const deadline = setTimeout(finish, options.deadlineMs ?? 10_000);
    socket.on('connect', () => {
      socket.write(data);
      options.during?.(socket);
    });
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('end', () => {
      closedByServer = true;
      finish();
    });
    socket.on('error', () => {
      closedByServer = true;
      finish();
    });
    socket.on('close', () => {
      closedByServer = true;
      finish();
    });
  });
}

/** Writes `text` one piece every `intervalMs` until the socket closes (the server cut it off). */
export function trickle(pieces: () => string, intervalMs: number) {
  return (socket: net.Socket) => {
    const timer = setInterval(() => {
      if (socket.writable) socket.write(pieces());
    }, intervalMs);
    socket.on('close', () => clearInterval(timer));
  };
}

/** The HTTP/1.1 responses in `bytes`, in order; bodies by Content-Length. */
export function parseResponses(bytes: Buffer): RawResponse[] {
  const responses: RawResponse[] = [];
  let at = 0;
  while (at < bytes.length) {
    const end = bytes.indexOf('\r\n\r\n', at);
    if (end === -1) break;
    const [statusLine = '', ...lines] = bytes.toString('latin1', at, end).split('\r\n');
    const status = Number(/^HTTP\/1\.1 (\d{3}) /.exec(statusLine)?.[1]);
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    const length = Number(headers['content-length'] ?? 0);
    const text = bytes.toString('utf8', end + 4, end + 4 + length);
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {}
    responses.push({ status, headers, body });
    at = end + 4 + length;
  }
  return responses;
}

/** Opens a connection and resolves once it is established; the caller ends it. */
export function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Sends one keep-alive request on an open socket and resolves with its response (or null if the connection closes first). */
export function requestOn(socket: net.Socket, request: string, deadlineMs = 10_000): Promise<RawResponse | null> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const done = (value: RawResponse | null) => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      resolve(value);
    };
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      const [response] = parseResponses(Buffer.concat(chunks));
      if (response && Buffer.concat(chunks).length >= expectedLength(Buffer.concat(chunks))) done(response);
    };
    const onClose = () => done(null);
    const timer = setTimeout(() => done(null), deadlineMs);
    socket.on('data', onData);
    socket.on('close', onClose);
    socket.write(request);
  });
}

function expectedLength(bytes: Buffer): number {
  const end = bytes.indexOf('\r\n\r\n');
  if (end === -1) return Number.POSITIVE_INFINITY;
  const length = /\r\ncontent-length: *(\d+)/i.exec(bytes.toString('latin1', 0, end))?.[1];
  return end + 4 + Number(length ?? 0);
}

/** Waits for `socket` to be closed by the other side, or gives up after `deadlineMs` (false). */
export function closedWithin(socket: net.Socket, deadlineMs: number): Promise<boolean> {
  if (socket.destroyed || socket.readableEnded) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), deadlineMs);
    const closed = () => {
      clearTimeout(timer);
      resolve(true);
    };
    socket.once('end', closed);
    socket.once('close', closed);
    socket.resume();
  });
}
