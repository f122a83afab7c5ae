// Ports for tests and benchmarks: everything binds port 0 on loopback, so parallel runs never collide.
import { createServer, type Server } from 'node:net';

/** Listens on a port the kernel picks, on loopback; resolves with `http://127.0.0.1:PORT`. */
export async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as { port: number };
  return `http://127.0.0.1:${port}`;
}

/** Closes a server, cutting its open connections (keep-alive ones would hold `close` up). */
export async function close(server: Server | undefined): Promise<void> {
  if (!server?.listening) return;
  (server as { closeAllConnections?: () => void }).closeAllConnections?.();
  await new Promise((resolve) => server.close(resolve));
}

/**
 * A loopback port free right now: bound by the kernel, then released. For a child process to bind a
 * moment later, or, left unbound, for a peer that refuses connections at once.
 */
export async function freePort(): Promise<number> {
  const server = createServer();
  const origin = await listen(server);
  await close(server);
  return Number(new URL(origin).port);
}
