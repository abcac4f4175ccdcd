// A TCP proxy between a gateway and a server it depends on, which a test can cut mid-run: `down`
// closes every connection and refuses new ones (a dead server), `blackhole` accepts and forwards
// nothing (a hung one), `up` restores it.
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export interface TcpProxy {
  port: number;
  down(): void;
  blackhole(): void;
  up(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(targetHost: string, targetPort: number): Promise<TcpProxy> {
  let mode: 'up' | 'down' | 'blackhole' = 'up';
  const sockets = new Set<Socket>();
  const track = (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => s.destroy());
  };
  const server: Server = createServer((client) => {
    track(client);
    if (mode === 'down') return void client.destroy();
    if (mode === 'blackhole') return; // held open, never answered
    const upstream = connect(targetPort, targetHost);
    track(upstream);
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const cutAll = () => {
    for (const s of sockets) s.destroy();
  };
  return {
    port: (server.address() as AddressInfo).port,
    down() {
      mode = 'down';
      cutAll();
    },
    blackhole() {
      mode = 'blackhole';
      cutAll();
    },
    up() {
      mode = 'up';
    },
    async close() {
      cutAll();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
