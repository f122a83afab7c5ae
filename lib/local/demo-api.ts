/**
 * The demo API that `npm start` runs behind the `demo` target's proxy: a resource server that accepts only
 * access tokens from the demo authorization server, verified the way an API verifies RFC 9068 JWT access
 * tokens (signature against the AS's JWKS, `iss`, `aud`, `exp`, `typ: at+jwt`), and answers
 * `GET /whoami` with the token's `sub` and the names of the headers it received, so a caller sees who
 * the API thinks it is and that none of its own credentials arrived.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRemoteJWKSet, type JWTPayload, jwtVerify } from 'jose';

export interface DemoApiOptions {
  /** The demo authorization server's issuer. */
  readonly issuer: string;
  /** Where its signing keys are published. */
  readonly jwksUri: string;
  /** This API's identifier: the `aud` its tokens must carry. */
  readonly audience: string;
  /** Default '127.0.0.1'. */
  readonly host?: string;
  /** Default 0 (random). */
  readonly port?: number;
}

export interface DemoApi {
  /** e.g. http://127.0.0.1:PORT (no trailing slash). */
  readonly url: string;
  close(): Promise<void>;
}

/** The body of `GET /whoami`. */
export interface WhoAmI {
  readonly sub: string;
  readonly scope: string | null;
  readonly client_id: string | null;
  /** The request header names, lower-case and sorted. */
  readonly headers: string[];
}

/**
 * Starts the demo API.
 * @see https://www.rfc-editor.org/rfc/rfc9068#section-4 (validating JWT access tokens)
 * @see https://www.rfc-editor.org/rfc/rfc6750#section-3 (the WWW-Authenticate challenge)
 */
export async function startDemoApi(options: DemoApiOptions): Promise<DemoApi> {
  const keys = createRemoteJWKSet(new URL(options.jwksUri));
  const verify = async (token: string): Promise<JWTPayload> =>
    (
      await jwtVerify(token, keys, {
        issuer: options.issuer,
        audience: options.audience,
        typ: 'at+jwt',
        algorithms: ['ES256'],
        requiredClaims: ['sub', 'exp'],
      })
    ).payload;
  const server = createServer((req, res) => {
    answer(req, res, verify).catch(() => {
      if (!res.headersSent) json(res, 500, { error: 'server_error' });
      else res.destroy();
    });
  });
  server.listen(options.port ?? 0, options.host ?? '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const host = options.host ?? '127.0.0.1';
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    close: () => close(server),
  };
}

async function answer(
  req: IncomingMessage,
  res: ServerResponse,
  verify: (token: string) => Promise<JWTPayload>,
): Promise<void> {
  req.resume();
  const path = (req.url ?? '/').split('?')[0];
  if (path !== '/whoami') {
    json(res, 404, { error: 'not_found' });
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    json(res, 405, { error: 'method_not_allowed' }, { allow: 'GET, HEAD' });
    return;
  }
  const match = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/.exec(req.headers.authorization ?? '');
  if (!match) {
    json(res, 401, { error: 'invalid_token' }, { 'www-authenticate': 'Bearer realm="demo-api"' });
    return;
  }
  let claims: JWTPayload;
  try {
    claims = await verify(match[1]!);
  } catch {
    const challenge = 'Bearer realm="demo-api", error="invalid_token"';
    json(res, 401, { error: 'invalid_token' }, { 'www-authenticate': challenge });
    return;
  }
  const body: WhoAmI = {
    sub: String(claims.sub),
    scope: typeof claims.scope === 'string' ? claims.scope : null,
    client_id: typeof claims.client_id === 'string' ? claims.client_id : null,
    headers: Object.keys(req.headers).sort(),
  };
  json(res, 200, body, {}, req.method === 'HEAD');
}

function json(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
  head = false,
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(head ? undefined : text);
}

async function close(server: Server): Promise<void> {
  if (!server.listening) return;
  const closed = once(server, 'close');
  server.close();
  server.closeAllConnections();
  await closed;
}
