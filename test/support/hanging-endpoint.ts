import { createServer, type Socket } from 'node:net';
import { listen } from './ports.ts';

export interface HangingEndpoint {
  /** `http://127.0.0.1:PORT`: point an SDK client's `endpoint` (or AWS_ENDPOINT_URL_*) here. */
  readonly origin: string;
  /** Connections accepted so far. */
  readonly connections: number;
  /** Bytes received, over all connections (a request was sent, not only a connection opened). */
  readonly bytesReceived: number;
  close(): Promise<void>;
}

/**
 * The worst dependency: it accepts the TCP connection, reads the request and never answers, as a stuck
 * load balancer or a black-holed service does. Nothing times out on its side; only the client's own
 * timeouts and abort signals end the wait.
 */
export async function startHangingEndpoint(): Promise<HangingEndpoint> {
  const sockets = new Set<Socket>();
  let connections = 0;
  let bytesReceived = 0;
  const server = createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on('data', (chunk) => {
      bytesReceived += chunk.length;
    });
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  const origin = await listen(server);
  return {
    origin: `${origin}`,
    get connections() {
      return connections;
    },
    get bytesReceived() {
      return bytesReceived;
    },
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
