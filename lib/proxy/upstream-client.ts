import {
  Agent as HttpAgent,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  validateHeaderName,
  validateHeaderValue,
} from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { GatewayError } from '../errors.ts';

interface UpstreamRequest {
  /** Protocol, host and port (the path is `requestTarget`). */
  readonly url: URL;
  /** Path and query exactly as sent on the request line. */
  readonly requestTarget: string;
  readonly method: string;
  readonly headers: Readonly<Record<string, string>>;
  /** Buffered, so a retry can send it again. */
  readonly body: Buffer | undefined;
  /** For the whole exchange: connect, send, headers and body. */
  readonly timeoutMs: number;
  /** The response body is read up to this many bytes; a longer one fails the call. */
  readonly maxResponseBytes: number;
}

export interface UpstreamResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

/** The proxied API is sent requests through this; tests and embedders may swap it. */
export type UpstreamTransport = (request: UpstreamRequest) => Promise<UpstreamResponse>;

// Connections to the API are kept open across invocations of a warm container: a TLS handshake per call
// would cost more than the rest of the proxy. Idle ones are closed after 4 s, before servers commonly
// close theirs (Node 5 s, many others more), which keeps the race below rare.
const agents = {
  'http:': new HttpAgent({ keepAlive: true, maxSockets: 64, timeout: 4_000 }),
  'https:': new HttpsAgent({ keepAlive: true, maxSockets: 64, timeout: 4_000 }),
};

/** RFC 9110 9.2.2: what can be sent again without the API acting twice. */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS']);

/**
 * One HTTP exchange with the proxied API over node:http(s), whose raw bytes are what the caller must get:
 * `fetch` would decode `Content-Encoding` and hand back a body that no longer matches the API's headers.
 * The response body is read as it streams and the exchange is cut off at the size limit; everything is
 * bounded by one timeout. Failures are GatewayErrors: ERR_API_TIMEOUT, ERR_API_RESPONSE_TOO_LARGE,
 * ERR_API_UNAVAILABLE (connection refused or reset, DNS, TLS), ERR_REQUEST_INVALID (a header Node
 * refuses to send).
 * @see https://www.rfc-editor.org/rfc/rfc9110#section-6.4
 */
export const sendUpstream: UpstreamTransport = async (upstream) => {
  const headers = validHeaders(upstream.headers);
  const started = Date.now();
  try {
    return await exchange(upstream, headers, upstream.timeoutMs);
  } catch (error) {
    // A kept-alive connection the API closed just as it was reused fails before the API saw the request:
    // an idempotent call goes once more, on a new connection, in what is left of its time.
    const stale = error instanceof StaleConnection && IDEMPOTENT.has(upstream.method);
    const left = upstream.timeoutMs - (Date.now() - started);
    if (!stale || left <= 0) throw error instanceof StaleConnection ? error.failure : error;
    try {
      return await exchange(upstream, headers, left);
    } catch (retry) {
      throw retry instanceof StaleConnection ? retry.failure : retry;
    }
  }
};

/** A reused connection broke before any answer; `failure` is what the caller gets if it stays broken. */
class StaleConnection extends Error {
  constructor(readonly failure: GatewayError) {
    super(failure.message);
  }
}

function exchange(
  upstream: UpstreamRequest,
  headers: Record<string, string>,
  timeoutMs: number,
): Promise<UpstreamResponse> {
  return new Promise<UpstreamResponse>((resolve, reject) => {
    const send = upstream.url.protocol === 'https:' ? httpsRequest : httpRequest;
    let settled = false;
    const fail = (error: GatewayError | StaleConnection) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      request.destroy();
      reject(error);
    };
    const request = send(upstream.url, {
      // The bytes as the caller sent them; the URL's own path and query are re-encoded (`'` as %27).
      path: upstream.requestTarget,
      method: upstream.method,
      headers: upstream.body ? { ...headers, 'content-length': String(upstream.body.length) } : headers,
      agent: agents[upstream.url.protocol as keyof typeof agents],
    });
    const timer = setTimeout(
      () =>
        fail(new GatewayError('ERR_API_TIMEOUT', `the API did not answer within ${upstream.timeoutMs} ms`)),
      timeoutMs,
    );
    let answered = false;
    request.on('error', (error: NodeJS.ErrnoException) => {
      const failure = new GatewayError(
        'ERR_API_UNAVAILABLE',
        `the API could not be reached (${errorName(error)})`,
        { cause: error },
      );
      const reset = error.code === 'ECONNRESET' || error.code === 'EPIPE';
      fail(request.reusedSocket && !answered && reset ? new StaleConnection(failure) : failure);
    });
    request.on('response', (response: IncomingMessage) => {
      answered = true;
      readBounded(response, upstream.maxResponseBytes, upstream.method === 'HEAD').then(
        (body) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve({ status: response.statusCode ?? 502, headers: response.headers, body });
        },
        (error: GatewayError) => fail(error),
      );
    });
    request.end(upstream.body);
  });
}

/**
 * Reads a response body, refusing it as soon as it (or its declared length) passes `maxBytes`. A HEAD
 * answer declares the length of the body a GET would get, and has none.
 */
function readBounded(response: IncomingMessage, maxBytes: number, head: boolean): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const tooLarge = () =>
      new GatewayError('ERR_API_RESPONSE_TOO_LARGE', `the API's response exceeds ${maxBytes} bytes`);
    const declared = Number(response.headers['content-length']);
    if (!head && Number.isFinite(declared) && declared > maxBytes) {
      reject(tooLarge());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    response.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        response.removeAllListeners('data');
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    });
    response.on('end', () => resolve(Buffer.concat(chunks, size)));
    response.on('error', (error: NodeJS.ErrnoException) =>
      reject(
        new GatewayError('ERR_API_UNAVAILABLE', `the API's response broke off (${errorName(error)})`, {
          cause: error,
        }),
      ),
    );
    response.on('aborted', () =>
      reject(new GatewayError('ERR_API_UNAVAILABLE', "the API's response broke off")),
    );
  });
}

/** Node throws on a header it would not send (non-Latin-1, a bad name); that is the caller's input. */
function validHeaders(headers: Readonly<Record<string, string>>): Record<string, string> {
  for (const [name, value] of Object.entries(headers)) {
    try {
      validateHeaderName(name);
      validateHeaderValue(name, value);
    } catch {
      throw new GatewayError('ERR_REQUEST_INVALID', `the header ${name.slice(0, 64)} cannot be forwarded`);
    }
  }
  return { ...headers };
}

/** An error code, never a message: messages may quote hosts and paths of internal networks. */
function errorName(error: NodeJS.ErrnoException): string {
  return error.code ?? error.name;
}
