import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { listen } from './ports.ts';

/** One scripted fault, consumed by the next request; requests with no fault pending are forwarded. */
export type Fault =
  | {
      readonly kind: 'status';
      readonly status: number;
      readonly headers?: Record<string, string>;
      readonly body?: string;
    }
  | { readonly kind: 'delay'; readonly ms: number }
  | { readonly kind: 'reset' };

export interface FaultProxy {
  /** The proxy's origin; paths are forwarded unchanged to the upstream. */
  readonly origin: string;
  /** Requests received, faulted or forwarded. */
  readonly requests: ReadonlyArray<{ readonly path: string; readonly fault?: Fault['kind'] }>;
  inject(...faults: Fault[]): void;
  close(): Promise<void>;
}

/**
 * Sits in front of a real server (the demo authorization server) and injects the faults that real
 * networks and servers produce: 5xx and 429 answers, stalls, reset connections. Everything else reaches
 * the real server, so the responses the client processes are real ones.
 */
export async function startFaultProxy(upstream: string): Promise<FaultProxy> {
  const faults: Fault[] = [];
  const requests: Array<{ path: string; fault?: Fault['kind'] }> = [];
  const target = new URL(upstream);

  const forward = (req: IncomingMessage, res: ServerResponse): void => {
    const outbound = httpRequest(
      { host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers },
      (upstreamResponse) => {
        res.writeHead(upstreamResponse.statusCode ?? 502, upstreamResponse.headers);
        upstreamResponse.pipe(res);
      },
    );
    outbound.on('error', () => res.destroy());
    req.pipe(outbound);
  };

  const server = createServer((req, res) => {
    const fault = faults.shift();
    requests.push({ path: req.url ?? '', ...(fault ? { fault: fault.kind } : {}) });
    if (!fault) return forward(req, res);
    switch (fault.kind) {
      case 'status':
        req.resume();
        res.writeHead(fault.status, { 'content-type': 'application/json', ...fault.headers });
        res.end(fault.body ?? '');
        return;
      case 'delay': {
        const timer = setTimeout(() => forward(req, res), fault.ms);
        res.on('close', () => clearTimeout(timer));
        return;
      }
      case 'reset':
        req.socket.destroy();
        return;
    }
  });
  const origin = await listen(server);
  return {
    origin: `${origin}`,
    requests,
    inject: (...more) => faults.push(...more),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
