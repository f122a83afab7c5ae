// The demo authorization server's options: what a test or `npm start` configures, with defaults and a
// startup check that names the offending entry.
import type { JWK } from 'jose';

export interface DemoClient {
  client_id: string;
  /** For client_secret_basic / client_secret_post. */
  client_secret?: string;
  token_endpoint_auth_method: 'none' | 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt';
  /** For private_key_jwt (the gateway's JWKS URL). */
  jwks_uri?: string;
  /** Alternative to jwks_uri. */
  jwks?: { keys: JWK[] };
  /** Any of the jwt-bearer / token-exchange grant URNs plus 'client_credentials', 'password', 'refresh_token'. */
  grant_types: string[];
  /** Allowed scopes, space separated. */
  scope?: string;
}

export interface TrustedAssertionIssuer {
  /** Expected `iss` of jwt-bearer assertions (RFC 7523 3 item 1); typically the client id. */
  issuer: string;
  /** Where the assertion signing keys are published (the gateway's /.well-known/jwks.json), or static keys. */
  jwksUri?: string;
  jwks?: { keys: JWK[] };
  /** Clients that may present assertions from this issuer. */
  clientIds: string[];
}

export interface DemoAuthorizationServerOptions {
  /** Default '127.0.0.1'. */
  host?: string;
  /** Default 0 (random). */
  port?: number;
  clients: DemoClient[];
  trustedIssuers: TrustedAssertionIssuer[];
  /** username -> password, for the password grant. */
  users?: Record<string, string>;
  /** Default 3600. */
  accessTokenTtlSeconds?: number;
  /** Default 300: reject assertions whose exp - iat (or exp - now) exceeds it. */
  maxAssertionLifetimeSeconds?: number;
  /** Default 5. */
  clockToleranceSeconds?: number;
  /**
   * Default false; when true, jwt-bearer and password grants also issue a refresh token if the client has
   * 'refresh_token' in grant_types.
   */
  issueRefreshTokens?: boolean;
  /**
   * When set, access tokens for end users (jwt-bearer, password, and token-exchange without an audience of
   * its own) are RFC 9068 JWTs for this resource server (`aud`), signed with the key published at
   * `jwksUri`, as an API verifies them itself. Such tokens are not stored, so not introspectable.
   * Default: opaque tokens, introspectable.
   */
  jwtAccessTokens?: { audience: string };
}

export type Settings = Required<Omit<DemoAuthorizationServerOptions, 'users' | 'jwtAccessTokens'>> & {
  users: Record<string, string>;
  jwtAccessTokens: DemoAuthorizationServerOptions['jwtAccessTokens'];
};

export function withDefaults(options: DemoAuthorizationServerOptions): Settings {
  return {
    host: options.host ?? '127.0.0.1',
    port: options.port ?? 0,
    clients: options.clients,
    trustedIssuers: options.trustedIssuers,
    users: options.users ?? {},
    accessTokenTtlSeconds: options.accessTokenTtlSeconds ?? 3600,
    maxAssertionLifetimeSeconds: options.maxAssertionLifetimeSeconds ?? 300,
    clockToleranceSeconds: options.clockToleranceSeconds ?? 5,
    issueRefreshTokens: options.issueRefreshTokens ?? false,
    jwtAccessTokens: options.jwtAccessTokens,
  };
}

/** Fail at startup, with the offending entry named, rather than with an opaque error on the first request. */
export function validateOptions(options: DemoAuthorizationServerOptions): void {
  const clientIds = new Set(options.clients.map((client) => client.client_id));
  for (const trusted of options.trustedIssuers) {
    if (!trusted.issuer) {
      throw new TypeError('trustedIssuers[].issuer must be a non-empty string');
    }
    if ((trusted.jwksUri === undefined) === (trusted.jwks === undefined)) {
      throw new TypeError(`trusted issuer ${trusted.issuer}: exactly one of jwksUri or jwks is required`);
    }
    const unknown = trusted.clientIds.filter((clientId) => !clientIds.has(clientId));
    if (trusted.clientIds.length === 0 || unknown.length > 0) {
      throw new TypeError(
        `trusted issuer ${trusted.issuer}: clientIds must name configured clients (unknown: ${unknown.join(', ') || 'none given'})`,
      );
    }
  }
}
