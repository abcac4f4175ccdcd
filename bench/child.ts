// What every server the benchmark writes (fake engine, baseline proxy) does as a child process:
// listen on loopback with a free port, say where on stdout (the parent waits for that line), and
// exit when the parent goes away, so a killed benchmark never leaves a server holding a port.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Large enough for the memory test's burst of ~1,000 connections without SYN drops. */
const BACKLOG = 4096;

export async function listenAndAnnounce(server: Server, name: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: 0, host: '127.0.0.1', backlog: BACKLOG }, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`${name} listening on http://127.0.0.1:${port}\n`);
}

/** The parent holds our stdin open; EOF means it exited (even by SIGKILL). */
export function exitWithParent(server: Server): void {
  const stop = () => {
    server.closeAllConnections();
    process.exit(0);
  };
  process.stdin.on('end', stop);
  process.stdin.on('error', stop);
  process.stdin.resume();
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
