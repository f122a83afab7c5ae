/**
 * A real OAuth 2.0 authorization server built on `oidc-provider`, used by the integration tests and by
 * `npm start` as the bundled demo AS. On top of oidc-provider's built-in `client_credentials` and
 * `refresh_token` grants it registers the grants the gateway needs:
 *
 * - `urn:ietf:params:oauth:grant-type:jwt-bearer` (RFC 7523), verified strictly against trusted issuers,
 * - `password` (RFC 6749 section 4.3), against a static user table,
 * - `urn:ietf:params:oauth:grant-type:token-exchange` (RFC 8693) for JWT subject tokens.
 *
 * Everything is held in memory: this is a demo and test fixture, not a production AS.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  decodeJwt,
  exportJWK,
  generateKeyPair,
  type JWK,
  type JWTPayload,
  type JWTVerifyGetKey,
  errors as joseErrors,
  jwtVerify,
} from 'jose';
import type {
  Adapter,
  AdapterPayload,
  Client,
  Configuration,
  KoaContextWithOIDC,
  Provider as OidcProvider,
  SigningAlgorithm,
  TokenEndpointGrantContext,
} from 'oidc-provider';

// ---------------------------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------------------------

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

export interface RecordedTokenRequest {
  grantType: string;
  /** The client id as authenticated; undefined when authentication failed or never happened. */
  clientId?: string;
  /** The form parameters as sent, `client_secret` and `password` redacted; assertions are kept. */
  params: Record<string, string>;
  /** The HTTP status of the answer; 0 while the request is still being processed. */
  status: number;
  error?: string;
}

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

// ---------------------------------------------------------------------------------------------------------
// oidc-provider loading
// ---------------------------------------------------------------------------------------------------------

/**
 * oidc-provider prints an "Unsupported runtime" warning at import time on Node 20, which this project
 * supports (engines >= 20.19). The notice is noise in test output, so it is muted while the module loads
 * unless DEBUG is set. Only lines oidc-provider prefixes with its own name are dropped.
 */
async function importOidcProviderQuietly(): Promise<typeof import('oidc-provider')> {
  if (process.env.DEBUG) return import('oidc-provider');
  const { warn, info } = console;
  const drop =
    (original: (...args: unknown[]) => void) =>
    (...args: unknown[]) => {
      if (typeof args[0] === 'string' && args[0].includes('oidc-provider ')) return;
      original(...args);
    };
  console.warn = drop(warn);
  console.info = drop(info);
  try {
    return await import('oidc-provider');
  } finally {
    console.warn = warn;
    console.info = info;
  }
}

const { Provider, errors } = await importOidcProviderQuietly();

// ---------------------------------------------------------------------------------------------------------
// Constants
// ---------------------------------------------------------------------------------------------------------

const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
const TOKEN_TYPE_JWT = 'urn:ietf:params:oauth:token-type:jwt';
const TOKEN_TYPE_ACCESS_TOKEN = 'urn:ietf:params:oauth:token-type:access_token';

/** RFC 7518 asymmetric JWS algorithms accepted for assertions (what AWS KMS can produce). */
const ASSERTION_ALGORITHMS: SigningAlgorithm[] = [
  'ES256',
  'ES384',
  'ES512',
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
];

/** private_key_jwt client assertions: the same families plus EdDSA, which oidc-provider also verifies. */
const CLIENT_AUTH_ALGORITHMS: SigningAlgorithm[] = [...ASSERTION_ALGORITHMS, 'Ed25519', 'EdDSA'];

/** A day: long enough for a demo session, short enough that a leaked demo refresh token soon dies. */
const REFRESH_TOKEN_TTL_SECONDS = 24 * 60 * 60;

/** Form parameters never kept in `tokenRequests`: they are credentials, not protocol data worth asserting on. */
const REDACTED_PARAMS = new Set(['client_secret', 'password']);

// ---------------------------------------------------------------------------------------------------------
// Entry point
// ---------------------------------------------------------------------------------------------------------

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

type Settings = Required<Omit<DemoAuthorizationServerOptions, 'users' | 'jwtAccessTokens'>> & {
  users: Record<string, string>;
  jwtAccessTokens: DemoAuthorizationServerOptions['jwtAccessTokens'];
};

function withDefaults(options: DemoAuthorizationServerOptions): Settings {
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
function validateOptions(options: DemoAuthorizationServerOptions): void {
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

function issuerFor(host: string, port: number): string {
  const hostname = host.includes(':') ? `[${host}]` : host;
  return `http://${hostname}:${port}`;
}

// ---------------------------------------------------------------------------------------------------------
// Provider configuration
// ---------------------------------------------------------------------------------------------------------

async function createProvider(issuer: string, settings: Settings): Promise<OidcProvider> {
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

// ---------------------------------------------------------------------------------------------------------
// Assertion verification (RFC 7523 section 3)
// ---------------------------------------------------------------------------------------------------------

interface VerifiedAssertion {
  sub: string;
  iss: string;
}

/** The JWT was looked at and refused; `message` is the client-facing error_description. */
class AssertionRejected extends Error {}

/** The issuer's keys could not be fetched: not the client's fault, so not an invalid_grant. */
class AssertionKeysUnavailable extends Error {}

interface AssertionPolicy {
  audiences: string[];
  clockToleranceSeconds: number;
  maxLifetimeSeconds: number;
}

interface IssuerKeys {
  trusted: TrustedAssertionIssuer;
  keys: JWTVerifyGetKey;
}

/**
 * Verifies user-identifying JWTs (jwt-bearer assertions and token-exchange subject tokens) against the
 * trusted issuers, and remembers every accepted `jti` until it expires so an assertion is single use.
 */
class AssertionVerifier {
  readonly #issuers: IssuerKeys[];
  readonly #policy: AssertionPolicy;
  /** `[iss, jti]` -> epoch seconds after which the entry may be forgotten (the assertion is expired by then). */
  readonly #seen = new Map<string, number>();

  constructor(trustedIssuers: TrustedAssertionIssuer[], policy: AssertionPolicy) {
    this.#policy = policy;
    // One key set per issuer, built once, so a remote JWKS is cached across requests.
    this.#issuers = trustedIssuers.map((trusted) => ({
      trusted,
      keys: trusted.jwksUri ? createRemoteJWKSet(new URL(trusted.jwksUri)) : createLocalJWKSet(trusted.jwks!),
    }));
  }

  /**
   * @param label how the JWT is named in error descriptions ('assertion', 'subject_token').
   * @see RFC 7523 section 3 (JWT format and processing requirements)
   */
  async verify(jwt: string, clientId: string, label: string): Promise<VerifiedAssertion> {
    const issuerKeys = this.#issuerFor(unverifiedIssuer(jwt, label), clientId, label);
    const payload = await this.#verifySignatureAndClaims(jwt, issuerKeys, label);
    const verified = this.#checkClaims(payload, label);
    this.#rememberOnce(verified.iss, payload.jti as string, payload.exp as number, label);
    return verified;
  }

  /** RFC 7523 3 item 1: the issuer must be one we trust, and trusted for this particular client. */
  #issuerFor(iss: string, clientId: string, label: string): IssuerKeys {
    const found = this.#issuers.find(
      ({ trusted }) => trusted.issuer === iss && trusted.clientIds.includes(clientId),
    );
    if (!found) {
      throw new AssertionRejected(`${label} issuer "${iss}" is not trusted for client "${clientId}"`);
    }
    return found;
  }

  async #verifySignatureAndClaims(jwt: string, { trusted, keys }: IssuerKeys, label: string) {
    try {
      const { payload } = await jwtVerify(jwt, keys, {
        issuer: trusted.issuer,
        audience: this.#policy.audiences,
        algorithms: ASSERTION_ALGORITHMS,
        clockTolerance: this.#policy.clockToleranceSeconds,
        // RFC 7523 3 items 2 and 4 require sub and exp; jti is required here to enforce single use.
        requiredClaims: ['exp', 'sub', 'jti'],
      });
      return payload;
    } catch (error) {
      throw describeJoseFailure(error, label, this.#policy.audiences);
    }
  }

  #checkClaims(payload: JWTPayload, label: string): VerifiedAssertion {
    const { sub, jti, iat, exp, iss } = payload as Required<JWTPayload>;
    if (typeof sub !== 'string' || sub.trim() === '') {
      throw new AssertionRejected(`${label} sub claim must be a non-empty string`);
    }
    if (typeof jti !== 'string' || jti === '') {
      throw new AssertionRejected(`${label} jti claim must be a non-empty string`);
    }
    const now = epochSeconds();
    const tolerance = this.#policy.clockToleranceSeconds;
    if (iat !== undefined && iat > now + tolerance) {
      throw new AssertionRejected(`${label} iat claim is in the future`);
    }
    // Long-lived assertions defeat the replay cache and widen the window for a stolen one. Without iat the
    // remaining lifetime is all there is to judge, with the clock tolerance granted.
    const lifetime = iat !== undefined ? exp - iat : exp - now;
    const allowed = this.#policy.maxLifetimeSeconds + (iat !== undefined ? 0 : tolerance);
    if (lifetime > allowed) {
      throw new AssertionRejected(
        `${label} lifetime of ${lifetime}s exceeds the maximum of ${this.#policy.maxLifetimeSeconds}s`,
      );
    }
    return { sub, iss };
  }

  /** RFC 7523 3 item 7: the AS may keep used jti values to refuse replays, for as long as they are valid. */
  #rememberOnce(iss: string, jti: string, exp: number, label: string): void {
    const now = epochSeconds();
    for (const [key, forgetAfter] of this.#seen) {
      if (forgetAfter < now) this.#seen.delete(key);
    }
    const key = JSON.stringify([iss, jti]);
    if (this.#seen.has(key)) {
      throw new AssertionRejected(`${label} replayed: jti "${jti}" was already used`);
    }
    this.#seen.set(key, exp + this.#policy.clockToleranceSeconds);
  }
}

/** Only to pick the issuer's keys; the issuer is verified again, with the signature, by jwtVerify. */
function unverifiedIssuer(jwt: string, label: string): string {
  let payload: JWTPayload;
  try {
    payload = decodeJwt(jwt);
  } catch {
    throw new AssertionRejected(`${label} is not a well-formed JWT`);
  }
  if (typeof payload.iss !== 'string' || payload.iss === '') {
    throw new AssertionRejected(`${label} is missing the required "iss" claim`);
  }
  return payload.iss;
}

/** Turn jose's errors into descriptions a client developer can act on. */
function describeJoseFailure(error: unknown, label: string, audiences: string[]): Error {
  if (!(error instanceof joseErrors.JOSEError)) {
    return new AssertionKeysUnavailable(`unable to load the ${label} issuer keys: ${String(error)}`);
  }
  switch (error.code) {
    case joseErrors.JWSSignatureVerificationFailed.code:
      return new AssertionRejected(`${label} signature invalid`);
    case joseErrors.JWKSNoMatchingKey.code:
      return new AssertionRejected(`${label} signature invalid: no key of the issuer matches the JWS header`);
    case joseErrors.JWKSMultipleMatchingKeys.code:
      return new AssertionRejected(
        `${label} JWS header must carry a kid: several keys of the issuer match it`,
      );
    case joseErrors.JOSENotSupported.code:
      return new AssertionRejected(`${label} uses an unsupported JOSE feature: ${error.message}`);
    case joseErrors.JOSEAlgNotAllowed.code:
      return new AssertionRejected(
        `${label} signature invalid: alg not allowed (use one of ${ASSERTION_ALGORITHMS})`,
      );
    case joseErrors.JWTExpired.code:
      return new AssertionRejected(`${label} expired`);
    case joseErrors.JWTClaimValidationFailed.code:
      return describeClaimFailure(error as joseErrors.JWTClaimValidationFailed, label, audiences);
    case joseErrors.JWSInvalid.code:
    case joseErrors.JWTInvalid.code:
      return new AssertionRejected(`${label} is not a well-formed JWT: ${error.message}`);
    default:
      return new AssertionKeysUnavailable(`unable to load the ${label} issuer keys: ${error.message}`);
  }
}

function describeClaimFailure(
  error: joseErrors.JWTClaimValidationFailed,
  label: string,
  audiences: string[],
) {
  if (error.reason === 'missing') {
    return new AssertionRejected(`${label} is missing the required "${error.claim}" claim`);
  }
  switch (error.claim) {
    case 'aud':
      return new AssertionRejected(`${label} audience invalid: expected one of ${audiences.join(', ')}`);
    case 'iss':
      return new AssertionRejected(`${label} issuer invalid`);
    case 'nbf':
      return new AssertionRejected(`${label} is not yet valid (nbf)`);
    default:
      return new AssertionRejected(`${label} ${error.claim} claim invalid`);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Grant handlers
// ---------------------------------------------------------------------------------------------------------

interface Issuance {
  provider: OidcProvider;
  issueRefreshTokens: boolean;
  /** The resource server that end-user access tokens are JWTs for; opaque tokens when undefined. */
  jwtAudience: string | undefined;
}

type GrantHandler = (ctx: TokenEndpointGrantContext) => Promise<void>;

/**
 * JWT bearer grant: the client presents an assertion about an end user (`sub`) and receives an access
 * token for that user.
 *
 * @see RFC 7523 section 2.1 (using JWTs as authorization grants) and section 3.1 (error responses)
 */
function jwtBearerHandler(verifier: AssertionVerifier, issuance: Issuance): GrantHandler {
  return async (ctx) => {
    const assertion = requireParam(ctx, 'assertion');
    // Before verification, which spends the jti: a scope mistake must not burn the assertion.
    const scope = resolveScope(ctx);
    const { sub } = await verifyOr(errorWith(errors.InvalidGrant), () =>
      verifier.verify(assertion, ctx.oidc.client.clientId, 'assertion'),
    );
    await issueUserTokens(ctx, issuance, { accountId: sub, scope, gty: JWT_BEARER_GRANT, refreshable: true });
  };
}

/**
 * Resource owner password credentials grant against the static `users` table.
 *
 * @see RFC 6749 section 4.3
 */
function passwordHandler(users: Record<string, string>, issuance: Issuance): GrantHandler {
  return async (ctx) => {
    const username = requireParam(ctx, 'username');
    const password = requireParam(ctx, 'password');
    const expected = Object.hasOwn(users, username) ? users[username] : undefined;
    if (expected === undefined || !safeEqual(password, expected)) {
      throw errorWith(errors.InvalidGrant)('invalid resource owner credentials');
    }
    const scope = resolveScope(ctx);
    await issueUserTokens(ctx, issuance, { accountId: username, scope, gty: 'password', refreshable: true });
  };
}

/**
 * Token exchange for a JWT subject token, verified exactly like a jwt-bearer assertion. RFC 8693 2.2.2
 * mandates `invalid_request` (not `invalid_grant`) for an invalid or unacceptable subject_token.
 *
 * @see RFC 8693 section 2 (token exchange request and response)
 */
function tokenExchangeHandler(verifier: AssertionVerifier, issuance: Issuance): GrantHandler {
  return async (ctx) => {
    const subjectToken = requireParam(ctx, 'subject_token');
    const subjectTokenType = requireParam(ctx, 'subject_token_type');
    if (subjectTokenType !== TOKEN_TYPE_JWT) {
      throw new errors.InvalidRequest(`unsupported subject_token_type: only ${TOKEN_TYPE_JWT} is accepted`);
    }
    const requested = optionalParam(ctx, 'requested_token_type');
    if (requested !== undefined && requested !== TOKEN_TYPE_ACCESS_TOKEN) {
      throw new errors.InvalidRequest(
        `unsupported requested_token_type: only ${TOKEN_TYPE_ACCESS_TOKEN} is issued`,
      );
    }
    const audience = requestedAudience(ctx);
    const scope = resolveScope(ctx);
    const { sub } = await verifyOr(errorWith(errors.InvalidRequest), () =>
      verifier.verify(subjectToken, ctx.oidc.client.clientId, 'subject_token'),
    );
    await issueUserTokens(ctx, issuance, {
      accountId: sub,
      scope,
      gty: TOKEN_EXCHANGE_GRANT,
      audience,
      issuedTokenType: TOKEN_TYPE_ACCESS_TOKEN,
      refreshable: false,
    });
  };
}

/** RFC 8693 2.1: `audience` (any string) and `resource` (absolute URI) both name the target; one is kept. */
function requestedAudience(ctx: TokenEndpointGrantContext): string | undefined {
  const resource = optionalParam(ctx, 'resource');
  const audience = optionalParam(ctx, 'audience');
  if (resource !== undefined && !URL.canParse(resource)) {
    throw new errors.InvalidTarget('resource must be an absolute URI');
  }
  if (resource !== undefined && audience !== undefined && resource !== audience) {
    throw new errors.InvalidTarget('only a single target is supported: send audience or resource, not both');
  }
  return resource ?? audience;
}

async function verifyOr(
  reject: (description: string) => Error,
  verify: () => Promise<VerifiedAssertion>,
): Promise<VerifiedAssertion> {
  try {
    return await verify();
  } catch (error) {
    if (error instanceof AssertionRejected) throw reject(error.message);
    if (error instanceof AssertionKeysUnavailable) throw keysUnavailable(error.message);
    throw error;
  }
}

/**
 * The assertion may be fine but cannot be checked right now: invalid_grant would tell the client to give
 * up on it, and a bare 500 would hide the reason. 503 temporarily_unavailable says "retry later" and why.
 */
function keysUnavailable(description: string): Error {
  const error = new errors.TemporarilyUnavailable(description);
  // oidc-provider exposes error details only for 4xx (expose is computed in the constructor), so the
  // status is raised to 503 afterwards and expose stays true.
  error.status = 503;
  error.statusCode = 503;
  return error;
}

/**
 * oidc-provider's InvalidGrant keeps a fixed error_description and files the argument under the non-public
 * error_detail; the tests and gateway operators need the reason, so it is put in error_description.
 */
function errorWith(ErrorClass: new (description: string) => InstanceType<typeof errors.OIDCProviderError>) {
  return (description: string) => {
    const error = new ErrorClass(description);
    error.error_description = description;
    return error;
  };
}

function requireParam(ctx: TokenEndpointGrantContext, name: string): string {
  const value = optionalParam(ctx, name);
  if (value === undefined || value === '') {
    throw new errors.InvalidRequest(`missing required parameter '${name}'`);
  }
  return value;
}

function optionalParam(ctx: TokenEndpointGrantContext, name: string): string | undefined {
  const value = ctx.oidc.params[name];
  return typeof value === 'string' ? value : undefined;
}

/**
 * Every requested scope must be allowed for the client (RFC 6749 3.3 lets the AS refuse rather than
 * silently narrow). Without a `scope` parameter the client's registered scope is the pre-defined default.
 */
function resolveScope(ctx: TokenEndpointGrantContext): string {
  const allowed = splitScope(ctx.oidc.client.scope);
  const requested = optionalParam(ctx, 'scope');
  if (requested === undefined || requested.trim() === '') return allowed.join(' ');
  const scopes = [...new Set(splitScope(requested))];
  const refused = scopes.filter((scope) => !allowed.includes(scope));
  if (refused.length > 0) {
    throw new errors.InvalidScope(
      `requested scope is not allowed for this client: ${refused.join(' ')}`,
      refused.join(' '),
    );
  }
  return scopes.join(' ');
}

interface UserTokenRequest {
  accountId: string;
  scope: string;
  gty: string;
  audience?: string;
  issuedTokenType?: string;
  /** Whether the grant may come with a refresh token at all (token exchange never does). */
  refreshable: boolean;
}

/**
 * Issue an opaque access token (and optionally a refresh token) for an end user. oidc-provider's
 * refresh_token grant and introspection both look the tokens' Grant up, so one is created and saved first.
 */
async function issueUserTokens(
  ctx: TokenEndpointGrantContext,
  issuance: Issuance,
  request: UserTokenRequest,
) {
  const { provider } = issuance;
  const { client } = ctx.oidc;
  const grantId = await saveGrant(provider, client, request);

  // RFC 9068: a JWT for the configured resource server, unless the request named its own audience.
  const jwtAudience = request.audience === undefined ? issuance.jwtAudience : undefined;
  const accessToken = new provider.AccessToken({
    accountId: request.accountId,
    client,
    grantId,
    gty: request.gty,
    scope: request.scope || undefined,
    aud: request.audience,
    ...(jwtAudience
      ? {
          resourceServer: new provider.ResourceServer(jwtAudience, {
            audience: jwtAudience,
            scope: request.scope,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'ES256' } },
          }),
        }
      : {}),
  });
  ctx.oidc.entity('AccessToken', accessToken);
  const accessTokenValue = await accessToken.save();

  const withRefresh =
    request.refreshable && issuance.issueRefreshTokens && client.grantTypeAllowed('refresh_token');
  ctx.body = {
    access_token: accessTokenValue,
    token_type: accessToken.tokenType,
    expires_in: accessToken.expiration,
    scope: accessToken.scope,
    issued_token_type: request.issuedTokenType,
    refresh_token: withRefresh ? await saveRefreshToken(ctx, provider, grantId, request) : undefined,
  };
}

async function saveGrant(provider: OidcProvider, client: Client, request: UserTokenRequest): Promise<string> {
  const grant = new provider.Grant({ accountId: request.accountId, clientId: client.clientId });
  // Refreshed access tokens get the intersection of the requested and the Grant's OIDC scope.
  if (request.scope) grant.addOIDCScope(request.scope);
  return grant.save();
}

async function saveRefreshToken(
  ctx: TokenEndpointGrantContext,
  provider: OidcProvider,
  grantId: string,
  request: UserTokenRequest,
): Promise<string> {
  const refreshToken = new provider.RefreshToken({
    accountId: request.accountId,
    client: ctx.oidc.client,
    grantId,
    gty: request.gty,
    scope: request.scope,
    rotations: 0,
  });
  ctx.oidc.entity('RefreshToken', refreshToken);
  return refreshToken.save();
}

function splitScope(scope: string | undefined): string[] {
  return (scope ?? '').split(' ').filter(Boolean);
}

/** Constant-time comparison of two secrets of any length (hashing first equalizes the lengths). */
function safeEqual(actual: string, expected: string): boolean {
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(actual), digest(expected));
}

function epochSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

// ---------------------------------------------------------------------------------------------------------
// Token request recording
// ---------------------------------------------------------------------------------------------------------

/**
 * Koa middleware (installed with provider.use, so it wraps oidc-provider's router) recording every token
 * endpoint call once oidc-provider has answered it, errors included.
 */
function recordTokenRequests(tokenPath: string, into: RecordedTokenRequest[]) {
  return async (ctx: KoaContextWithOIDC, next: () => Promise<unknown>) => {
    if (ctx.method !== 'POST' || ctx.path !== tokenPath) return next();
    // Reserve the slot on arrival so concurrent requests are listed in the order they came in.
    const record: RecordedTokenRequest = { grantType: '', params: {}, status: 0 };
    into.push(record);
    await next();
    const params = formParams(ctx.oidc?.body);
    const body = ctx.body as { error?: string } | undefined;
    const error = ctx.status >= 400 ? body?.error : undefined;
    Object.assign(record, {
      grantType: params.grant_type ?? '',
      // oidc-provider attaches the client before checking its credentials; only report it when they held.
      clientId: error === 'invalid_client' ? undefined : ctx.oidc?.client?.clientId,
      params,
      status: ctx.status,
      ...(error === undefined ? {} : { error }),
    });
  };
}

function formParams(body: Record<string, unknown> | undefined): Record<string, string> {
  const params: Record<string, string> = {};
  for (const [name, raw] of Object.entries(body ?? {})) {
    // A repeated parameter is an error oidc-provider reports; its first value is enough to record.
    const value = Array.isArray(raw) ? String(raw[0]) : String(raw);
    params[name] = REDACTED_PARAMS.has(name) ? '[redacted]' : value;
  }
  return params;
}

// ---------------------------------------------------------------------------------------------------------
// Server handle
// ---------------------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------------------
// In-memory storage adapter
// ---------------------------------------------------------------------------------------------------------

interface StoredEntry {
  payload: AdapterPayload;
  /** Epoch milliseconds; undefined for entries that do not expire. */
  expiresAt?: number;
}

/**
 * Per-server in-memory storage. oidc-provider's bundled adapter would do, but it prints a
 * "development-only" warning on every start and caps storage at 1000 entries (an LRU, which can silently
 * evict live tokens during a long demo).
 */
function createInMemoryAdapterFactory(): (model: string) => Adapter {
  const entries = new Map<string, StoredEntry>();
  const grantMembers = new Map<string, Set<string>>();
  const secondary = new Map<string, string>();
  let writes = 0;

  const expired = (entry: StoredEntry) => entry.expiresAt !== undefined && entry.expiresAt <= Date.now();
  const live = (key: string): StoredEntry | undefined => {
    const entry = entries.get(key);
    if (entry && expired(entry)) {
      entries.delete(key);
      return undefined;
    }
    return entry;
  };
  // Expired entries nobody looks up again would otherwise accumulate in a long-running demo.
  const sweep = () => {
    for (const [key, entry] of entries) if (expired(entry)) entries.delete(key);
    for (const [grantId, keys] of grantMembers) {
      for (const key of keys) if (!entries.has(key)) keys.delete(key);
      if (keys.size === 0) grantMembers.delete(grantId);
    }
  };

  return (model) => {
    const keyFor = (id: string) => `${model}:${id}`;
    const findBySecondary = async (index: string) => {
      const id = secondary.get(index);
      return id === undefined ? undefined : live(keyFor(id))?.payload;
    };
    return {
      async upsert(id, payload, expiresIn) {
        if (++writes % 256 === 0) sweep();
        const key = keyFor(id);
        const expiresAt = typeof expiresIn === 'number' ? Date.now() + expiresIn * 1000 : undefined;
        entries.set(key, { payload, expiresAt });
        if (payload.grantId) {
          grantMembers.set(payload.grantId, (grantMembers.get(payload.grantId) ?? new Set()).add(key));
        }
        if (payload.uid) secondary.set(`uid:${payload.uid}`, id);
        if (payload.userCode) secondary.set(`userCode:${payload.userCode}`, id);
      },
      async find(id) {
        return live(keyFor(id))?.payload;
      },
      findByUid: (uid) => findBySecondary(`uid:${uid}`),
      findByUserCode: (userCode) => findBySecondary(`userCode:${userCode}`),
      async consume(id) {
        const entry = live(keyFor(id));
        if (entry) entry.payload.consumed = epochSeconds();
      },
      async destroy(id) {
        entries.delete(keyFor(id));
      },
      async revokeByGrantId(grantId) {
        for (const key of grantMembers.get(grantId) ?? []) entries.delete(key);
        grantMembers.delete(grantId);
      },
    };
  };
}
