// A TCP proxy between a gateway and a server it depends on, which a test can cut mid-run: `down`
// closes every connection and refuses new ones (a dead server), `blackhole` accepts and forwards
// nothing (a hung one), `freeze` stops forwarding on the open connections without closing them
// (a network that silently drops everything), `up` restores it for new connections, and `lag`
// delays every answer by a number of milliseconds (a slow server).
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export interface TcpProxy {
  port: number;
  /** Connections accepted so far. */
  accepted(): number;
  down(): void;
  blackhole(): void;
  freeze(): void;
  up(): void;
  lag(ms: number): void;
  close(): Promise<void>;
}

export async function startTcpProxy(targetHost: string, targetPort: number): Promise<TcpProxy> {
  let mode: 'up' | 'down' | 'blackhole' = 'up';
  let accepted = 0;
  let lagMs = 0;
  const sockets = new Set<Socket>();
  const pairs = new Set<[Socket, Socket]>();
  const track = (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => s.destroy());
  };
  const server: Server = createServer((client) => {
    accepted++;
    track(client);
    if (mode === 'down') return void client.destroy();
    if (mode === 'blackhole') return; // held open, never answered
    const upstream = connect(targetPort, targetHost);
    track(upstream);
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    client.pipe(upstream);
    // Answers keep their order: each waits the same lag as the one before it.
    upstream.on('data', (chunk: Buffer) => (lagMs > 0 ? setTimeout(() => client.write(chunk), lagMs) : client.write(chunk)));
    client.on('close', () => {
      upstream.destroy();
      pairs.delete(pair);
    });
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const cutAll = () => {
    for (const s of sockets) s.destroy();
  };
  return {
    port: (server.address() as AddressInfo).port,
    accepted: () => accepted,
    down() {
      mode = 'down';
      cutAll();
    },
    blackhole() {
      mode = 'blackhole';
      cutAll();
    },
    freeze() {
      mode = 'blackhole';
      for (const [client, upstream] of pairs) {
        client.unpipe(upstream);
        upstream.removeAllListeners('data');
        client.pause();
        upstream.pause();
      }
    },
    up() {
      mode = 'up';
    },
    lag(ms: number) {
      lagMs = ms;
    },
    async close() {
      cutAll();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
