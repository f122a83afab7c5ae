// Starting the demo authorization server: the HTTP socket, the provider behind it, and the handle tests use.
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Provider as OidcProvider } from 'oidc-provider';
import {
  type DemoAuthorizationServerOptions,
  type DemoClient,
  type Settings,
  validateOptions,
  withDefaults,
} from './options.ts';
import { createProvider } from './provider.ts';
import { type RecordedTokenRequest, recordTokenRequests } from './token-request-log.ts';

export interface DemoAuthorizationServer {
  /** e.g. http://127.0.0.1:PORT (no trailing slash). */
  readonly issuer: string;
  readonly tokenEndpoint: string;
  readonly introspectionEndpoint: string;
  readonly jwksUri: string;
  /** Every request to the token endpoint, in order. */
  readonly tokenRequests: ReadonlyArray<RecordedTokenRequest>;
  /** Introspect a token as the given client (RFC 7662), returns the JSON. */
  introspect(
    token: string,
    client: { client_id: string; client_secret: string },
  ): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

/**
 * Start the demo authorization server on `host:port` (random port by default).
 *
 * @see RFC 6749 (OAuth 2.0), RFC 7523 section 2.1 and 3 (JWT bearer grant), RFC 8693 (token exchange),
 *   RFC 7662 (introspection), RFC 8414 (authorization server metadata)
 */
export async function startDemoAuthorizationServer(
  options: DemoAuthorizationServerOptions,
): Promise<DemoAuthorizationServer> {
  validateOptions(options);
  const settings = withDefaults(options);

  // The issuer embeds the port, so the socket must be bound before the provider exists.
  const server = createServer();
  server.listen(settings.port, settings.host);
  await once(server, 'listening');
  const issuer = issuerFor(settings.host, (server.address() as AddressInfo).port);

  try {
    const provider = await createProvider(issuer, settings);
    const tokenRequests: RecordedTokenRequest[] = [];
    provider.use(recordTokenRequests(new URL(provider.urlFor('token')).pathname, tokenRequests));
    server.on('request', provider.callback());
    return describeServer(server, provider, settings, tokenRequests);
  } catch (error) {
    await closeServer(server);
    throw error;
  }
}

function issuerFor(host: string, port: number): string {
  const hostname = host.includes(':') ? `[${host}]` : host;
  return `http://${hostname}:${port}`;
}

function describeServer(
  server: Server,
  provider: OidcProvider,
  settings: Settings,
  tokenRequests: RecordedTokenRequest[],
): DemoAuthorizationServer {
  const introspectionEndpoint = provider.urlFor('introspection');
  return {
    issuer: provider.issuer,
    tokenEndpoint: provider.urlFor('token'),
    introspectionEndpoint,
    jwksUri: provider.urlFor('jwks'),
    tokenRequests,
    introspect: (token, client) => introspect(introspectionEndpoint, token, client, settings.clients),
    close: () => closeServer(server),
  };
}

/**
 * Authenticate the way the client is registered (basic or post), since oidc-provider refuses any other.
 *
 * @see RFC 7662 section 2.1 (introspection request), RFC 6749 section 2.3.1 (client password encoding)
 */
async function introspect(
  endpoint: string,
  token: string,
  client: { client_id: string; client_secret: string },
  clients: DemoClient[],
): Promise<Record<string, unknown>> {
  const method = clients.find((known) => known.client_id === client.client_id)?.token_endpoint_auth_method;
  const body = new URLSearchParams({ token });
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (method === 'client_secret_post') {
    body.set('client_id', client.client_id);
    body.set('client_secret', client.client_secret);
  } else {
    headers.authorization = basicAuthorization(client.client_id, client.client_secret);
  }
  const response = await fetch(endpoint, { method: 'POST', headers, body });
  const json = (await response.json()) as Record<string, unknown>;
  if (!response.ok) {
    throw new Error(`introspection failed with HTTP ${response.status}: ${JSON.stringify(json)}`);
  }
  return json;
}

/** RFC 6749 2.3.1: id and secret are form-urlencoded before being joined with ':' and base64-encoded. */
function basicAuthorization(clientId: string, clientSecret: string): string {
  const encode = (value: string) => encodeURIComponent(value).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${encode(clientId)}:${encode(clientSecret)}`).toString('base64')}`;
}

async function closeServer(server: Server): Promise<void> {
  if (!server.listening) return;
  const closed = once(server, 'close');
  server.close();
  // Keep-alive connections (fetch pools them) would otherwise hold close() open until they time out.
  server.closeAllConnections();
  await closed;
}
