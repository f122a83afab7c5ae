// The setup the gateway's integration tests share: a temporary directory, and the demo authorization
// server (oidc-provider) with the gateway's own client registered for the jwt-bearer grant, trusting the
// gateway's assertions through the JWKS the gateway itself serves (as an authorization server in AWS
// fetches it from the jwks function), plus the `demo` target that reaches it. Each test adds its own
// targets, callers and servers on top; `serve` and `close` take care of their ports and teardown.
import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DemoAuthorizationServerOptions, DemoClient } from '#lib/local/demo-as/options.ts';
import {
  type DemoAuthorizationServer,
  startDemoAuthorizationServer,
} from '#lib/local/demo-authorization-server.ts';
import { createLambdaHttpServer, type LambdaHttpHandler } from '#lib/local/lambda-http-server.ts';
import { close, listen } from './ports.ts';

/** The gateway's client at the authorization server. */
export const CLIENT_ID = 'demo-gateway';
export const CLIENT_SECRET = 'gw-client-secret-7f3a9c1e5b';
/** The `iss` of the gateway's assertions, which the authorization server trusts. */
export const ASSERTION_ISSUER = 'jwt-bearer-gateway';

export interface GatewayFixtureOptions {
  /** Names the temporary directory. */
  readonly name: string;
  /**
   * The gateway's JWKS for the authorization server: the JWKS handler (served here on port 0), or the
   * URL where the test already serves it.
   */
  readonly jwks: LambdaHttpHandler | string;
  /** What the gateway's client may ask for; `openid demo.read demo.write` unless given. */
  readonly scope?: string;
  /** More clients of the authorization server. */
  readonly clients?: DemoClient[];
  /** Access tokens as JWTs for this audience (for the demo API), instead of opaque ones. */
  readonly jwtAccessTokens?: DemoAuthorizationServerOptions['jwtAccessTokens'];
}

export interface GatewayFixture {
  readonly dir: string;
  readonly as: DemoAuthorizationServer;
  /** A target on that server, as the gateway's client; its secret is `env.GW_CLIENT_SECRET`. */
  readonly demoTarget: {
    issuer: string;
    tokenEndpoint: string;
    clientId: string;
    clientAuthentication: { method: 'client_secret_basic'; secret: { env: string } };
    assertion: { issuer: string };
    scope: string;
    maxRetries: number;
  };
  /** The environment the demo target's secret reference reads. */
  readonly env: { GW_CLIENT_SECRET: string };
  /** Listens on port 0 until `close`; resolves with `http://127.0.0.1:PORT`. */
  serve(server: Server): Promise<string>;
  /** Closes every server `serve` started, the authorization server, and removes the directory. */
  close(): Promise<void>;
}

export async function startGatewayFixture(options: GatewayFixtureOptions): Promise<GatewayFixture> {
  const dir = await mkdtemp(join(tmpdir(), `${options.name}-`));
  const servers: Server[] = [];
  const serve = async (server: Server) => {
    servers.push(server);
    return listen(server);
  };
  const jwksUri =
    typeof options.jwks === 'string'
      ? options.jwks
      : `${await serve(createLambdaHttpServer({ '* /.well-known/jwks.json': options.jwks }))}/.well-known/jwks.json`;
  const as = await startDemoAuthorizationServer({
    clients: [
      {
        client_id: CLIENT_ID,
        client_secret: CLIENT_SECRET,
        token_endpoint_auth_method: 'client_secret_basic',
        grant_types: ['urn:ietf:params:oauth:grant-type:jwt-bearer'],
        scope: options.scope ?? 'openid demo.read demo.write',
      },
      ...(options.clients ?? []),
    ],
    trustedIssuers: [{ issuer: ASSERTION_ISSUER, jwksUri, clientIds: [CLIENT_ID] }],
    accessTokenTtlSeconds: 900,
    ...(options.jwtAccessTokens ? { jwtAccessTokens: options.jwtAccessTokens } : {}),
  });
  return {
    dir,
    as,
    demoTarget: {
      issuer: as.issuer,
      tokenEndpoint: as.tokenEndpoint,
      clientId: CLIENT_ID,
      clientAuthentication: { method: 'client_secret_basic', secret: { env: 'GW_CLIENT_SECRET' } },
      assertion: { issuer: ASSERTION_ISSUER },
      scope: 'demo.read',
      maxRetries: 0,
    },
    env: { GW_CLIENT_SECRET: CLIENT_SECRET },
    serve,
    close: async () => {
      for (const server of servers) await close(server);
      await as.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
