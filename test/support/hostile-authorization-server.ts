import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { listen } from './ports.ts';

/** A body of `bytes` bytes: `prefix`, then `fill` repeated, then `suffix`, streamed and never buffered. */
export interface StreamedBody {
  readonly prefix?: string;
  readonly fill: string;
  readonly bytes: number;
  readonly suffix?: string;
}

interface HostileAnswer {
  readonly status: number;
  readonly contentType?: string;
  /** A JSON value (serialized), a string as it is, or a streamed body with no Content-Length. */
  readonly body: unknown;
}

/** What happened to one streamed answer. */
interface StreamRecord {
  readonly total: number;
  /** Bytes handed to the socket before the stream ended. */
  written: number;
  /** The client closed the connection before the whole body was written. */
  cutShort: boolean;
}

export interface HostileAuthorizationServer {
  readonly tokenEndpoint: string;
  /** Token requests received. */
  readonly requests: number;
  /** One record per streamed answer, in order. */
  readonly streams: readonly StreamRecord[];
  answer(next: (request: number) => HostileAnswer): void;
  close(): Promise<void>;
}

export function streamed(body: StreamedBody): StreamedBody & { readonly streamed: true } {
  return { ...body, streamed: true };
}

const CHUNK_BYTES = 64 * 1024;

/**
 * A deliberately hostile or broken authorization server (node:http, ephemeral port): it answers whatever
 * the test says, including bodies of tens of megabytes streamed without Content-Length, and records
 * whether the client stopped reading early.
 */
export async function startHostileAuthorizationServer(): Promise<HostileAuthorizationServer> {
  let next: (request: number) => HostileAnswer = () => ({ status: 500, body: { error: 'server_error' } });
  let requests = 0;
  const streams: StreamRecord[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    req.on('end', () => {
      requests += 1;
      const answer = next(requests);
      const body = answer.body as Partial<StreamedBody & { streamed: true }> | string | undefined;
      const contentType = answer.contentType ?? 'application/json';
      if (typeof body === 'object' && body !== null && body.streamed) {
        res.writeHead(answer.status, { 'content-type': contentType, 'cache-control': 'no-store' });
        streams.push(streamBody(res, body as StreamedBody));
        return;
      }
      const text = typeof body === 'string' ? body : JSON.stringify(body);
      res.writeHead(answer.status, { 'content-type': contentType, 'cache-control': 'no-store' }).end(text);
    });
  });
  const origin = await listen(server);
  return {
    tokenEndpoint: `${origin}/token`,
    get requests() {
      return requests;
    },
    streams,
    answer: (fn) => {
      next = fn;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

function streamBody(res: ServerResponse, body: StreamedBody): StreamRecord {
  const prefix = Buffer.from(body.prefix ?? '');
  const suffix = Buffer.from(body.suffix ?? '');
  const fillBytes = body.bytes - prefix.length - suffix.length;
  const chunk = Buffer.from(body.fill.repeat(Math.ceil(CHUNK_BYTES / body.fill.length))).subarray(
    0,
    CHUNK_BYTES,
  );
  const record: StreamRecord = { total: body.bytes, written: 0, cutShort: false };
  let remaining = fillBytes;
  let closed = false;
  res.on('close', () => {
    closed = true;
    if (record.written < record.total) record.cutShort = true;
  });
  const write = (data: Buffer): boolean => {
    record.written += data.length;
    return res.write(data);
  };
  const pump = (): void => {
    while (!closed && remaining > 0) {
      const piece = chunk.subarray(0, Math.min(remaining, chunk.length));
      remaining -= piece.length;
      if (!write(piece)) {
        res.once('drain', pump);
        return;
      }
    }
    if (!closed) {
      write(suffix);
      res.end();
    }
  };
  write(prefix);
  pump();
  return record;
}
