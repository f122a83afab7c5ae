// The oidc-provider instance of the demo AS: its configuration, the custom grants registered, and the
// static clients checked at startup.
import type { JWK } from 'jose';
import { exportJWK, generateKeyPair } from 'jose';
import type {
  Client,
  Configuration,
  KoaContextWithOIDC,
  Provider as OidcProvider,
  SigningAlgorithm,
} from 'oidc-provider';
import { ASSERTION_ALGORITHMS, AssertionVerifier } from './assertion-verifier.ts';
import {
  JWT_BEARER_GRANT,
  jwtBearerHandler,
  passwordHandler,
  splitScope,
  TOKEN_EXCHANGE_GRANT,
  tokenExchangeHandler,
} from './grants.ts';
import { Provider } from './oidc-provider.ts';
import type { DemoClient, Settings } from './options.ts';
import { createInMemoryAdapterFactory } from './storage-adapter.ts';

/** private_key_jwt client assertions: the same families plus EdDSA, which oidc-provider also verifies. */
const CLIENT_AUTH_ALGORITHMS: SigningAlgorithm[] = [...ASSERTION_ALGORITHMS, 'Ed25519', 'EdDSA'];

/** A day: long enough for a demo session, short enough that a leaked demo refresh token soon dies. */
const REFRESH_TOKEN_TTL_SECONDS = 24 * 60 * 60;

export async function createProvider(issuer: string, settings: Settings): Promise<OidcProvider> {
  const provider = new Provider(issuer, await providerConfiguration(settings));
  const tokenEndpoint = provider.urlFor('token');
  const verifier = new AssertionVerifier(settings.trustedIssuers, {
    // RFC 7523 3 item 3 names the token endpoint; RFC 7523bis prefers the issuer identifier. Accept both.
    audiences: [issuer, tokenEndpoint],
    clockToleranceSeconds: settings.clockToleranceSeconds,
    maxLifetimeSeconds: settings.maxAssertionLifetimeSeconds,
  });
  const issuance = {
    provider,
    issueRefreshTokens: settings.issueRefreshTokens,
    jwtAudience: settings.jwtAccessTokens?.audience,
  };

  // Grants must be registered before the first client lookup: client metadata validation rejects
  // grant_types the provider does not know about.
  provider.registerGrantType(JWT_BEARER_GRANT, jwtBearerHandler(verifier, issuance), ['assertion', 'scope']);
  provider.registerGrantType('password', passwordHandler(settings.users, issuance), [
    'username',
    'password',
    'scope',
  ]);
  provider.registerGrantType(TOKEN_EXCHANGE_GRANT, tokenExchangeHandler(verifier, issuance), [
    'subject_token',
    'subject_token_type',
    'requested_token_type',
    'audience',
    'resource',
    'scope',
  ]);
  await validateClients(provider, settings.clients);
  return provider;
}

/**
 * oidc-provider validates static client metadata lazily, on first use, where a mistake surfaces as an
 * opaque invalid_client. Loading every client now turns it into a startup error that names the client.
 */
async function validateClients(provider: OidcProvider, clients: DemoClient[]): Promise<void> {
  for (const { client_id } of clients) {
    try {
      await provider.Client.find(client_id);
    } catch (error) {
      const reason = (error as { error_description?: string }).error_description ?? String(error);
      throw new TypeError(`client ${client_id}: ${reason}`, { cause: error });
    }
  }
}

async function providerConfiguration(settings: Settings): Promise<Configuration> {
  return {
    adapter: createInMemoryAdapterFactory(),
    jwks: { keys: [await generateSigningKey()] },
    clients: settings.clients.map(toClientMetadata),
    clientDefaults: { id_token_signed_response_alg: 'ES256' },
    // Client scopes must be a subset of the provider's, so the provider supports the union of them.
    scopes: ['openid', 'offline_access', ...settings.clients.flatMap((client) => splitScope(client.scope))],
    clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'],
    // A copy: oidc-provider prunes this array in place according to the enabled auth methods.
    enabledJWA: { clientAuthSigningAlgValues: [...CLIENT_AUTH_ALGORITHMS] },
    clockTolerance: settings.clockToleranceSeconds,
    routes: { token: '/token', introspection: '/token/introspect', jwks: '/jwks' },
    // No browser flows: there is no authorization endpoint use, so no response types nor interactions.
    responseTypes: ['none'],
    features: {
      devInteractions: { enabled: false },
      introspection: { enabled: true, allowedPolicy: introspectionAllowedPolicy },
      clientCredentials: { enabled: true },
      resourceIndicators: { enabled: false },
      userinfo: { enabled: false },
      rpInitiatedLogout: { enabled: false },
      pushedAuthorizationRequests: { enabled: false },
      // The custom grants issue plain Bearer tokens; advertising DPoP would be a half-truth.
      dPoP: { enabled: false },
    },
    // Explicit TTLs: oidc-provider's defaults print a "you SHOULD change it" notice when first used.
    ttl: {
      AccessToken: () => settings.accessTokenTtlSeconds,
      ClientCredentials: () => settings.accessTokenTtlSeconds,
      RefreshToken: () => REFRESH_TOKEN_TTL_SECONDS,
      // A refresh with openid in scope issues an ID token too.
      IdToken: () => settings.accessTokenTtlSeconds,
      // Introspection and refresh look the Grant up, so it must outlive every token issued under it.
      Grant: () => Math.max(settings.accessTokenTtlSeconds, REFRESH_TOKEN_TTL_SECONDS),
    },
    // Applies to oidc-provider's own grants; the custom grants below apply the same rule themselves.
    issueRefreshToken: (_ctx, client) =>
      settings.issueRefreshTokens && client.grantTypeAllowed('refresh_token'),
    // Demo: every subject is a valid end user, the assertion issuer vouches for it.
    findAccount: (_ctx, sub) => ({ accountId: sub, claims: () => ({ sub }) }),
    fetch: fetchAllowingLoopback,
  };
}

function toClientMetadata(client: DemoClient) {
  return {
    client_id: client.client_id,
    client_secret: client.client_secret,
    token_endpoint_auth_method: client.token_endpoint_auth_method,
    jwks_uri: client.jwks_uri,
    jwks: client.jwks,
    grant_types: client.grant_types,
    scope: client.scope,
    // Token-endpoint-only clients: no authorization endpoint, hence no redirect URIs to register.
    response_types: [],
    redirect_uris: [],
  };
}

/**
 * Ephemeral: the gateway relies on nothing the AS signs, and an API verifying JWT access tokens reads the
 * key from the JWKS of this run.
 */
async function generateSigningKey(): Promise<JWK> {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  return { ...(await exportJWK(privateKey)), alg: 'ES256', use: 'sig', kid: 'demo-as-es256' };
}

/**
 * oidc-provider's default policy is fine but prints a "you SHOULD change it" notice on first use.
 * Public clients may only introspect their own tokens; confidential clients (resource servers) any token.
 */
function introspectionAllowedPolicy(ctx: KoaContextWithOIDC, client: Client, token: { clientId?: string }) {
  return client.clientAuthMethod !== 'none' || token.clientId === ctx.oidc.client?.clientId;
}

/**
 * oidc-provider fetches private_key_jwt client JWKS through an SSRF-protecting dispatcher that refuses
 * loopback addresses, while the demo gateway publishes its JWKS on 127.0.0.1. Loopback URLs are fetched
 * without that dispatcher; every other URL keeps the protection.
 */
function fetchAllowingLoopback(input: string | URL | Request, init?: RequestInit): Promise<Response> {
  const url = new URL(input instanceof Request ? input.url : input);
  if (init && isLoopbackHost(url.hostname)) {
    const { dispatcher: _ssrfGuard, ...rest } = init as RequestInit & { dispatcher?: unknown };
    return fetch(input, rest);
  }
  return fetch(input, init);
}

function isLoopbackHost(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || hostname.startsWith('127.');
}
