import { once } from 'node:events';
import net from 'node:net';

/** `frozen`: stalled and never to be resumed. */
type Pair = { client: net.Socket; upstream: net.Socket | undefined; frozen?: boolean };

/**
 * A TCP proxy in the test process, between a server and its database, so a test can take "the
 * database" away from one replica without touching the PostgreSQL other tests share:
 * - `down()` closes the listener and destroys every open connection: a stopped database;
 * - `stall()` keeps every connection open and keeps accepting, but nothing gets through: an
 *   unreachable host (packets dropped), where only the client's own timeouts can end a wait;
 * - `up()` forwards again (on the same port), resuming stalled connections where they were, or
 *   with `{ resumeStalled: false }` leaving them silent for good (a firewall or NAT that forgot
 *   them): only connections opened afresh work.
 */
export class TcpProxy {
  private server: net.Server | undefined;
  private readonly pairs = new Set<Pair>();
  private stalled = false;
  /** Connections accepted so far. */
  accepted = 0;

  private constructor(
    private readonly target: { host: string; port: number },
    public port: number,
  ) {}

  /** Listens on 127.0.0.1 (on a free port unless `port` is given) and forwards to `target`. */
  static async start(target: { host: string; port: number }, port = 0): Promise<TcpProxy> {
    const proxy = new TcpProxy(target, port);
    await proxy.up();
    return proxy;
  }

  /** `url` (a postgres:// URL on the target) with its port replaced by the proxy's. */
  route(url: string): string {
    const routed = new URL(url);
    routed.port = String(this.port);
    return routed.toString();
  }

  async up({ resumeStalled = true }: { resumeStalled?: boolean } = {}): Promise<void> {
    if (this.stalled) {
      this.stalled = false;
      for (const pair of this.pairs) {
        if (pair.frozen || !resumeStalled) {
          pair.frozen = true;
          continue;
        }
        if (!pair.upstream) this.connectUpstream(pair);
        pair.client.resume();
        pair.upstream?.resume();
      }
    }
    if (this.server) return;
    const server = net.createServer((client) => this.accept(client));
    server.listen({ host: '127.0.0.1', port: this.port });
    await once(server, 'listening');
    this.port = (server.address() as net.AddressInfo).port;
    this.server = server;
  }

  /** Stops listening and destroys every open connection, both sides. */
  async down(): Promise<void> {
    this.stalled = false;
    const server = this.server;
    this.server = undefined;
    for (const { client, upstream } of this.pairs) {
      client.destroy();
      upstream?.destroy();
    }
    this.pairs.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  stall(): void {
    this.stalled = true;
    for (const { client, upstream } of this.pairs) {
      client.pause();
      upstream?.pause();
    }
  }

  close(): Promise<void> {
    return this.down();
  }

  private accept(client: net.Socket): void {
    this.accepted++;
    const pair: Pair = { client, upstream: undefined };
    this.pairs.add(pair);
    const drop = () => {
      this.pairs.delete(pair);
      client.destroy();
      pair.upstream?.destroy();
    };
    client.on('error', drop);
    client.on('close', drop);
    if (this.stalled) client.pause();
    else this.connectUpstream(pair);
  }

  private connectUpstream(pair: Pair): void {
    const { client } = pair;
    const upstream = net.connect({ host: this.target.host, port: this.target.port });
    pair.upstream = upstream;
    const drop = () => {
      this.pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    upstream.on('error', drop);
    upstream.on('close', drop);
    client.on('data', (chunk) => upstream.write(chunk));
    upstream.on('data', (chunk) => client.write(chunk));
  }
}
